"""Each command's report.html from a tiny run through the real CLI, opened in headless Chromium
with networking off (the checks of test_report_browser): images decode, no console errors, no
request leaves the file, no sideways scrolling on a phone. Screenshots kept under tmp dirs."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.experiments.test_report_browser import (
    CHROMIUM,
    _assert_clean,
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
    result = check_in_browser(run / "report.html", tmp_path, width=390)
    _assert_clean(result)
    assert result["scrollWidth"] <= result["innerWidth"], result
    print(f"screenshot: {screenshot(run / 'report.html', tmp_path / f'{command}.png')}")
