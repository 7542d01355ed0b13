"""Each command's report.html from a tiny run through the real CLI, opened in headless Chromium
with networking off (the checks of test_report_browser) at 1280 px and on a 390-px phone: images
decode, no console errors, no request leaves the file, the page never scrolls sideways, figures
fit the screen at a legible scale, verdict columns are in view at 1280, and a long report folds
its detail into <details>. Screenshots kept under tmp dirs."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.experiments.test_report_browser import (
    CHROMIUM,
    _assert_clean,
    assert_reads_well,
    check_in_browser,
    screenshot,
)

pytestmark = pytest.mark.skipif(
    CHROMIUM is None, reason="chromium is not installed (apt-get install chromium)"
)

# Each command's own report, from a tiny run through the real CLI. A command not registered in
# cli.main yet is skipped; add new commands here with their smallest sensible settings.
COMMAND_RUNS: dict[str, list[str]] = {
    "train": ["--task", "classification", "--epochs", "5", "--samples", "200", "--hidden", "8"],
    "batch-scaling": ["--samples", "16", "--minibatches", "10", "--pretrain-epochs", "2",
                      "--train-epochs", "2", "--seeds", "2"],
    "vanishing-gradients": ["--depths", "1,2", "--activations", "relu,sigmoid", "--inits",
                            "he-normal,xavier-normal", "--width", "8", "--seeds", "2",
                            "--batches", "1", "--epochs", "1", "--samples", "32", "--widths", "2"],
    "compare-activations": ["--activations", "relu,sigmoid", "--seeds", "2", "--epochs", "3",
                            "--samples", "100", "--hidden", "8", "--timing-repeats", "2"],
    "softmax-stability": ["--points", "3", "--rows", "1", "--classes", "3"],
}  # fmt: skip
# verify's report is checked the same way in tests/cli/test_verify.py (on the run made there).
# Reports whose detail folds (<details class="fold">) even in a tiny run; at 1280 px a report
# taller than this must fold something.
FOLDED = {"softmax-stability", "vanishing-gradients"}
TALL_PX = 6000


@pytest.mark.parametrize("command", sorted(COMMAND_RUNS))
def test_each_command_report_in_chromium(command: str, tmp_path: Path) -> None:
    from nnhw.cli.main import app, main

    registered = {c.name for c in app.registered_commands}
    if command not in registered:
        pytest.skip(f"nnhw {command} is not registered in cli.main yet")
    out = tmp_path / "results"
    with pytest.raises(SystemExit) as exc:
        main([command, *COMMAND_RUNS[command], "--quiet", "--out", str(out)])
    assert exc.value.code == 0
    (run,) = out.iterdir()
    # Deterministic: rebuilding from the saved tables gives the same bytes for report and plots.
    files = ["report.html", "report.md", *(f"plots/{p.name}" for p in (run / "plots").iterdir())]
    before = {f: (run / f).read_bytes() for f in files}
    with pytest.raises(SystemExit) as exc:
        main(["report", str(run)])
    assert exc.value.code == 0
    changed = [f for f in files if (run / f).read_bytes() != before[f]]
    assert changed == [], f"not deterministic: {changed}"
    for width in (1280, 390):
        result = check_in_browser(run / "report.html", tmp_path / str(width), width=width)
        _assert_clean(result)
        assert result["innerWidth"] == width
        assert_reads_well(result)
        if width == 1280:
            assert result["details"] >= 1  # the settings, at least
            if command in FOLDED or result["height"] > TALL_PX:
                assert result["folded"] >= 1, result
    print(f"screenshot: {screenshot(run / 'report.html', tmp_path / f'{command}-390.png', 390)}")
