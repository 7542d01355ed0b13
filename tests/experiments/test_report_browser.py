"""Reports in a real browser: headless Chromium, networking off, opens report.html and checks
that every image decoded (naturalWidth > 0), nothing logged an error, no request left the file,
and the layout reads: the page never scrolls sideways (at 1280 px and on a 390-px phone), no
element runs past the screen, every figure fits the screen (on a phone it may scroll sideways
inside its own box, at a scale where its text stays legible), and a table's verdict column is in
view without scrolling. Screenshots are kept under the test's tmp dir (their paths are printed;
`pytest -s` shows them).

Reports hold no script, so the checks run in a copy of the page with a small script injected at
the top of <head> and a Content-Security-Policy that only allows data: images and inline code:
any fetch from anywhere fires a `securitypolicyviolation` event, which the script records. The
script writes its results into the DOM, read back with `--dump-dom`. Console errors are also
read from Chromium's own log (`--enable-logging=stderr`). Headless Chromium will not make a
window narrower than 500 px, so a phone is a 390-px iframe in a wrapper page, to which the probe
posts its results.

`check_in_browser(html, workdir, width)` and `screenshot(...)` are reusable by other report
tests; `assert_reads_well(result)` holds the layout checks. Skipped when chromium is missing.
"""

from __future__ import annotations

import html as html_lib
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
  const vw = innerWidth, right = el => el.getBoundingClientRect().right;
  // the page as it opens (folded), then every <details> opened: folded content is checked too
  const height = document.documentElement.scrollHeight;
  const folded = document.querySelectorAll('details.fold').length;
  document.querySelectorAll('details').forEach(d => { d.open = true; });
  const imgs = [...document.images];
  const resources = performance.getEntriesByType('resource').map(r => r.name)
      .filter(n => !n.startsWith('data:'));
  const shown = imgs.filter(i => i.getBoundingClientRect().width > 0);
  const out = {images: imgs.length,
               broken: imgs.filter(i => !i.complete || i.naturalWidth === 0).map(i => i.alt),
               errors: __probe.errors, blocked: __probe.blocked, resources: resources,
               scrollWidth: document.documentElement.scrollWidth, innerWidth: vw,
               height: height,
               // what runs past the screen outside the boxes made to scroll (tables, figures)
               overflowing: [...document.querySelectorAll('body *')]
                   .filter(e => right(e) > vw + 0.5 && !e.closest('.table-wrap, .fig'))
                   .slice(0, 5).map(e => e.tagName + '.' + e.className),
               figuresPastScreen: shown.filter(i => right(i.closest('.fig') || i) > vw + 0.5)
                   .map(i => i.alt),
               figuresScrolling: shown.filter(i => { const f = i.closest('.fig');
                   return f && f.scrollWidth > f.clientWidth + 1; }).map(i => i.alt),
               // CSS px per PNG px: text of 8 pt at 150 dpi shows at 16.7 x this
               minImageScale: Math.min(...shown.map(i =>
                   i.getBoundingClientRect().width / i.naturalWidth)),
               // verdict columns: the ones drawn as badges (th.verdict)
               verdictHidden: [...document.querySelectorAll('th.verdict')]
                   .filter(th => right(th) > right(th.closest('.table-wrap')) + 1).length,
               verdictColumns: document.querySelectorAll('th.verdict').length,
               folded: folded,
               details: document.querySelectorAll('details').length};
  if (window.parent !== window) { parent.postMessage(out, '*'); return; }
  const pre = document.createElement('pre');
  pre.id = 'probe-result';
  pre.textContent = JSON.stringify(out);
  document.body.appendChild(pre);
});
</script>"""

MIN_WINDOW = 500  # headless Chromium's narrowest window; narrower pages go in an iframe


def _wrapper(page: Path, width: int, height: int, folder: Path) -> Path:
    """A page in `folder` holding `page` in a `width`-px iframe, writing what the probe posts
    into its DOM."""
    wrap = folder / f"{page.stem}-in-{width}px.html"
    wrap.write_text(
        '<!DOCTYPE html><html><body style="margin:0">'
        f'<iframe src="{page.as_uri()}" style="border:0;width:{width}px;height:{height}px" '
        'scrolling="no"></iframe><script>addEventListener("message", e => {'
        'const p = document.createElement("pre"); p.id = "probe-result";'
        "p.textContent = JSON.stringify(e.data); document.body.appendChild(p); });</script>"
        "</body></html>",
        encoding="utf-8",
    )
    return wrap


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
    target = page if width >= MIN_WINDOW else _wrapper(page, width, 900, workdir)
    proc = _chromium(
        ["--virtual-time-budget=5000", f"--window-size={max(width, MIN_WINDOW)},900",
         "--dump-dom", target.as_uri()],
        workdir / f"profile-{width}",
    )  # fmt: skip
    match = re.search(r'<pre id="probe-result">(.*?)</pre>', proc.stdout, re.S)
    assert match, f"probe did not report; chromium stderr:\n{proc.stderr[-2000:]}"
    result = json.loads(html_lib.unescape(match.group(1)))
    result["console"] = [
        line
        for line in proc.stderr.splitlines()
        if "CONSOLE" in line and ("error" in line.lower() or "Uncaught" in line)
    ]
    return result


def screenshot(html: Path, target: Path, width: int = 1280, height: int = 2000) -> Path:
    page = html if width >= MIN_WINDOW else _wrapper(html.resolve(), width, height, target.parent)
    _chromium(
        [
            "--virtual-time-budget=3000",
            f"--window-size={max(width, MIN_WINDOW)},{height}",
            "--hide-scrollbars",
            f"--screenshot={target}",
            page.as_uri(),
        ],
        target.parent / f"profile-shot-{width}",
    )
    assert target.exists() and target.stat().st_size > 10_000, "no screenshot written"
    return target


def assert_reads_well(result: dict) -> None:
    """The layout checks of the module docstring, on a check_in_browser result."""
    # the page never scrolls sideways, and nothing outside a scrolling box runs past the screen
    assert result["scrollWidth"] <= result["innerWidth"], result
    assert result["overflowing"] == [], result["overflowing"]
    assert result["figuresPastScreen"] == [], result["figuresPastScreen"]
    # figure text legible: 8-pt text at >= 9 CSS px on a phone, >= 11 at a desktop width
    floor = 0.54 if result["innerWidth"] < 640 else 0.62
    if result["images"]:
        assert result["minImageScale"] >= floor, result["minImageScale"]
    if result["innerWidth"] >= 1000:  # a desktop shows every figure whole, and every verdict
        assert result["figuresScrolling"] == [], result["figuresScrolling"]
        assert result["verdictHidden"] == 0, result


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
    assert result["innerWidth"] == 1280
    assert_reads_well(result)
    shot = screenshot(fake_report, tmp_path / "report-1280.png")
    print(f"screenshot: {shot}")


def test_report_fits_a_phone(fake_report: Path, tmp_path: Path) -> None:
    result = check_in_browser(fake_report, tmp_path, width=390)
    _assert_clean(result)
    assert result["innerWidth"] == 390  # a real 390-px viewport (the iframe), not 500
    # Wide tables and figures scroll inside their box; the page itself never scrolls sideways.
    assert_reads_well(result)
    print(f"screenshot: {screenshot(fake_report, tmp_path / 'report-390.png', 390, 1600)}")


def test_layout_checks_can_fail(fake_report: Path, tmp_path: Path) -> None:
    """The checks catch what they look for: a long unbreakable link, a figure shrunk to an
    illegible size, and a verdict column pushed out of a table's view."""
    text = fake_report.read_text()
    wide = "x" * 300
    bad = tmp_path / "bad-layout.html"
    bad.write_text(
        text.replace("<main>", f'<main><p><a href="#">{wide}</a></p><table><tr><td>'
                     f'{"y" * 400}</td></tr></table>', 1)
        .replace('style="--w:', 'style="width:40px;--w:')
        .replace("</main>", '<details><summary>more</summary><div class="table-wrap"><table>'
                 f'<tr><th>{"z" * 400}</th><th class=verdict>verdict</th></tr></table></div>'
                 "</details></main>", 1)
    )  # fmt: skip
    phone = check_in_browser(bad, tmp_path / "phone", width=390)
    assert phone["scrollWidth"] > phone["innerWidth"] and phone["overflowing"]
    assert phone["minImageScale"] < 0.54
    desktop = check_in_browser(bad, tmp_path / "desktop", width=1280)
    assert desktop["verdictHidden"] == 1
    with pytest.raises(AssertionError):
        assert_reads_well(desktop)


def test_probe_catches_external_requests(fake_report: Path, tmp_path: Path) -> None:
    """The check can fail: a page that fetches an image from the network is caught."""
    bad = tmp_path / "bad.html"
    bad.write_text(fake_report.read_text().replace(
        "<main>", '<main><img src="http://example.com/x.png" alt="remote">', 1))  # fmt: skip
    result = check_in_browser(bad, tmp_path / "bad")
    assert "remote" in result["broken"] and result["blocked"]
