"""The settings of `nnhw verify`: a frozen dataclass, validated on construction.

Contract: `Config(thorough=False, strict=False, seed=0)`; a bad value raises NnhwError naming the
CLI option. `thorough` runs the sub-studies at their full default size instead of the reduced
one (`substudies.sub_config`) and lengthens the core measurements (`epochs`, `samples`, and
`seeds`: the nets, draws or examples every verdict is computed over, 5 by default, 10);
`strict` makes the run exit 1 when a verdict's category differs from the expected one
(`report.check`), for use in CI.
"""

from __future__ import annotations

from dataclasses import dataclass

from nnhw.experiments.runs.validate import Estimate, check_bool, check_int

COMMAND = "verify"


@dataclass(frozen=True)
class Config:
    """thorough: the sub-studies at their full default size (minutes instead of seconds);
    strict: exit 1 when a verdict differs from the expected one; seed: the root seed."""

    thorough: bool = False
    strict: bool = False
    seed: int = 0

    def __post_init__(self) -> None:
        check_bool(self.thorough, "thorough")
        check_bool(self.strict, "strict")
        check_int(self.seed, "seed", 0)

    @property
    def epochs(self) -> int:
        return 100 if self.thorough else 40

    @property
    def samples(self) -> int:
        return 1000 if self.thorough else 500

    @property
    def seeds(self) -> int:
        """Seeds per verdict: nets trained as one ensemble, or independent draws."""
        return 10 if self.thorough else 5


# The settings that make a run big, for runs.validate.check_size.
SIZE_FIELDS = ("thorough",)
_OWN = Estimate(200e6, 30.0)  # verify's own measurements (the course nets, derivatives, timing)


def estimate(config: Config, workers: int = 1) -> Estimate:
    """Peak memory and work of a run (runs.validate): the sub-studies at the size verify runs
    them (substudies.sub_config), one after the other, and verify's own measurements."""
    # Imported here: the sub-studies' settings module imports this one
    from nnhw.experiments.runs import studies
    from nnhw.experiments.verify.substudies import SUBSTUDIES, sub_config

    total = _OWN
    memory = _OWN.memory
    for command in SUBSTUDIES:
        config_module = studies.load(command).module("config")
        sub = config_module.estimate(sub_config(command, config), workers)
        total += sub
        memory = max(memory, sub.memory)
    return Estimate(memory, total.seconds)
