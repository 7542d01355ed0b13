"""The reports of the newer activations in headless Chromium (the checks of test_report_browser at
1280 px and on a 390-px phone): vanishing-gradients with GELU, SiLU, ELU, SELU, softplus and Mish
(theory overlays, the mean-field tables and the self-normalisation check) and compare-activations
with every activation (eleven lines, the saturation and cost findings). Each from a tiny run
through the real CLI; its report says what it should and rebuilds to the same bytes."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.experiments.test_report_browser import (
    CHROMIUM,
    _assert_clean,
    assert_reads_well,
    check_in_browser,
)

pytestmark = pytest.mark.skipif(
    CHROMIUM is None, reason="chromium is not installed (apt-get install chromium)"
)

RUNS = {
    "vanishing-gradients": (
        ["--depths", "2", "--activations", "gelu,silu,elu,selu,softplus,mish", "--inits",
         "he-normal,lecun-normal", "--width", "8", "--seeds", "2", "--batches", "1", "--epochs",
         "1", "--samples", "32", "--widths", "2", "--selfnorm-depth", "6"],
        ["Self-normalisation: SELU against ELU, ReLU and tanh", "Critical initialisation",
         "plots/factor_curve.svg", "plots/selfnorm.svg", "tables/critical.csv",
         "Klambauer et al. 2017"],
    ),
    "compare-activations": (
        ["--activations", "all", "--seeds", "2", "--epochs", "2", "--samples", "60", "--hidden",
         "8", "--timing-repeats", "6"],
        ["mish", "Saturated units at the end", "beyond the course's, relative to ReLU's"],
    ),
}  # fmt: skip


@pytest.mark.parametrize("command", sorted(RUNS))
def test_newer_activations_report_in_chromium(command: str, tmp_path: Path) -> None:
    from nnhw.cli.main import main

    args, expected = RUNS[command]
    out = tmp_path / "results"
    with pytest.raises(SystemExit) as exc:
        main([command, *args, "--quiet", "--out", str(out)])
    assert exc.value.code == 0
    (run,) = out.iterdir()
    text = (run / "report.md").read_text()
    for needle in expected:
        assert needle in text, needle
    before = (run / "report.html").read_bytes()
    with pytest.raises(SystemExit) as exc:
        main(["report", str(run)])
    assert exc.value.code == 0 and (run / "report.html").read_bytes() == before
    for width in (1280, 390):
        result = check_in_browser(run / "report.html", tmp_path / str(width), width=width)
        _assert_clean(result)
        assert result["innerWidth"] == width
        assert_reads_well(result)
