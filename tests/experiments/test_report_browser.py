"""Reports in a real browser: headless Chromium, networking off, opens report.html and checks
that every image decoded (naturalWidth > 0), nothing logged an error, no request left the file,
and the page does not scroll sideways on a phone-sized window. Screenshots are kept under the
test's tmp dir (their paths are printed; `pytest -s` shows them).

Reports hold no script, so the checks run in a copy of the page with a small script injected at
the top of <head> and a Content-Security-Policy that only allows data: images and inline code:
any fetch from anywhere fires a `securitypolicyviolation` event, which the script records. The
script writes its results into the DOM, read back with `--dump-dom`. Console errors are also
read from Chromium's own log (`--enable-logging=stderr`).

`check_in_browser(html)` is reusable by other report tests. Skipped when chromium is missing.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from nnhw.experiments.runs import studies
from nnhw.experiments.runs.runner import execute
from tests.experiments import report_fake_study as fake

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
pytestmark = pytest.mark.skipif(
    CHROMIUM is None, reason="chromium is not installed (apt-get install chromium)"
)

FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--no-first-run",
    "--disable-component-update",
    "--disable-sync",
    "--disable-extensions",
    "--disable-dev-shm-usage",
    "--no-default-browser-check",
    "--proxy-server=127.0.0.1:9",  # a dead proxy: anything that tries the network fails
    "--host-resolver-rules=MAP * ~NOTFOUND",
    "--enable-logging=stderr",
    "--v=0",
]

PROBE = """<meta http-equiv="Content-Security-Policy" content="default-src 'none'; \
img-src data:; style-src 'unsafe-inline'; script-src 'unsafe-inline'">
<script>
window.__probe = {errors: [], blocked: []};
addEventListener('error', e => __probe.errors.push(String(e.message || (e.target && \
(e.target.src || e.target.href)) || 'error')), true);
addEventListener('securitypolicyviolation', e => __probe.blocked.push(e.blockedURI));
const origError = console.error;
console.error = (...a) => { __probe.errors.push(a.join(' ')); origError(...a); };
addEventListener('load', () => {
  const imgs = [...document.images];
  const resources = performance.getEntriesByType('resource').map(r => r.name)
      .filter(n => !n.startsWith('data:'));
  const out = {images: imgs.length,
               broken: imgs.filter(i => !i.complete || i.naturalWidth === 0).map(i => i.alt),
               errors: __probe.errors, blocked: __probe.blocked, resources: resources,
               scrollWidth: document.documentElement.scrollWidth, innerWidth: innerWidth};
  const pre = document.createElement('pre');
  pre.id = 'probe-result';
  pre.textContent = JSON.stringify(out);
  document.body.appendChild(pre);
});
</script>"""


def _chromium(args: list[str], profile: Path, timeout: float = 90) -> subprocess.CompletedProcess:
    cmd = [CHROMIUM, *FLAGS, f"--user-data-dir={profile}", *args]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, check=False)


def check_in_browser(html: Path, workdir: Path, width: int = 1280) -> dict:
    """Open a probed copy of `html` at `width` px and return the probe's findings, plus
    `console`: error lines from Chromium's log."""
    workdir.mkdir(parents=True, exist_ok=True)
    page = workdir / f"probe-{width}.html"
    text = html.read_text(encoding="utf-8")
    page.write_text(text.replace("<head>", "<head>" + PROBE, 1), encoding="utf-8")
    proc = _chromium(
        ["--virtual-time-budget=5000", f"--window-size={width},900", "--dump-dom", page.as_uri()],
        workdir / f"profile-{width}",
    )
    match = re.search(r'<pre id="probe-result">(.*?)</pre>', proc.stdout, re.S)
    assert match, f"probe did not report; chromium stderr:\n{proc.stderr[-2000:]}"
    result = json.loads(match.group(1).replace("&quot;", '"').replace("&amp;", "&"))
    result["console"] = [
        line
        for line in proc.stderr.splitlines()
        if "CONSOLE" in line and ("error" in line.lower() or "Uncaught" in line)
    ]
    return result


def screenshot(html: Path, target: Path, width: int = 1280, height: int = 2000) -> Path:
    _chromium(
        [
            "--virtual-time-budget=3000",
            f"--window-size={width},{height}",
            "--hide-scrollbars",
            f"--screenshot={target}",
            html.as_uri(),
        ],
        target.parent / f"profile-shot-{width}",
    )
    assert target.exists() and target.stat().st_size > 10_000, "no screenshot written"
    return target


@pytest.fixture(scope="module")
def fake_report(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("browser")
    with pytest.MonkeyPatch.context() as mp:
        mp.setitem(studies.STUDIES, "fake", "tests.experiments.report_fake_study")
        mp.setattr(fake, "INTERRUPT_AFTER", -1)
        rd = execute(
            "fake", fake.Config(epochs=30), out=out, argv=["fake", "--epochs", "30"]
        ).rundir
    return rd.path / "report.html"


def _assert_clean(result: dict) -> None:
    assert result["images"] >= 1
    assert result["broken"] == [], f"images that did not load: {result['broken']}"
    assert result["errors"] == [] and result["console"] == [], result
    assert result["blocked"] == [] and result["resources"] == [], "a request left the file"


def test_report_loads_offline_in_chromium(fake_report: Path, tmp_path: Path) -> None:
    result = check_in_browser(fake_report, tmp_path)
    _assert_clean(result)
    shot = screenshot(fake_report, tmp_path / "report-1280.png")
    print(f"screenshot: {shot}")


def test_report_fits_a_phone(fake_report: Path, tmp_path: Path) -> None:
    result = check_in_browser(fake_report, tmp_path, width=390)
    _assert_clean(result)
    # Wide tables scroll inside their box; the page itself never scrolls sideways.
    assert result["scrollWidth"] <= result["innerWidth"], result
    print(f"screenshot: {screenshot(fake_report, tmp_path / 'report-390.png', 390, 1600)}")


def test_probe_catches_external_requests(fake_report: Path, tmp_path: Path) -> None:
    """The check can fail: a page that fetches an image from the network is caught."""
    bad = tmp_path / "bad.html"
    bad.write_text(fake_report.read_text().replace(
        "<main>", '<main><img src="http://example.com/x.png" alt="remote">', 1))  # fmt: skip
    result = check_in_browser(bad, tmp_path / "bad")
    assert "remote" in result["broken"] and result["blocked"]
