"""The settings of `nnhw verify`: a frozen dataclass, validated on construction.

Contract: `Config(thorough=False, strict=False, seed=0)`; a bad value raises NnhwError naming the
CLI option. `thorough` runs the sub-studies at their full default size instead of the reduced
one (`substudies.sub_config`) and lengthens the core measurements (`epochs`, `samples`);
`strict` makes the run exit 1 when a verdict's category differs from the expected one
(`report.check`), for use in CI.
"""

from __future__ import annotations

from dataclasses import dataclass

from nnhw.experiments.runs.validate import check_bool, check_int

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
