"""Rendering helpers for reports: number formatting, Markdown tables, and the HTML page.

Every piece of text that reaches the HTML goes through `esc` (html.escape, quotes included), so
a CSV column named `<script>alert(1)</script>` shows as text. The page is one file: CSS inline,
PNGs as base64 data URIs, no script, no font or image fetched from anywhere. Output depends only
on its inputs (no clock, no random ids), so the same run gives the same bytes.

Tables reach a report as reporting.tables.present chose them: `html_shown` and `markdown_shown`
render one (numbers right-aligned, long text wrapped, verdict badges, the first column kept in
view when the table scrolls sideways); `markdown_table` writes a whole table (tables/*.md, the
terminal). `img_tag` embeds a figure at DISPLAY_SCALE, and at PHONE_SCALE below 40rem.
"""

from __future__ import annotations

import base64
import html
import struct
from typing import TYPE_CHECKING, Any

from nnhw.experiments.reporting.numbers import number
from nnhw.experiments.reporting.tables import Shown

if TYPE_CHECKING:
    import pandas as pd

MAX_ROWS = 25  # rows of a table shown in a report (chosen by reporting.tables); the CSV has all
WRAP_CHARS = 32  # a text column with a longer value wraps (at most 24rem wide) instead


def esc(text: Any) -> str:
    return html.escape(str(text), quote=True)


def format_value(value: Any) -> str:
    """A cell as people read it: integers whole, floats as reporting.numbers.number writes them
    (4 significant digits; NaN as 'n/a'), booleans and strings as they are."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return str(value).lower()
    if hasattr(value, "item") and getattr(value, "shape", None) == ():
        value = value.item()
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return number(value, 4)
    return str(value)


def _is_numeric(series: pd.Series) -> bool:
    # pandas only when a table is rendered (this module also formats single numbers for the CLI)
    import pandas as pd

    return bool(pd.api.types.is_numeric_dtype(series)) and not pd.api.types.is_bool_dtype(series)


def md_cell(text: str) -> str:
    return text.replace("\\", "\\\\").replace("|", "\\|").replace("<", "&lt;").replace("\n", " ")


def markdown_table(df: pd.DataFrame, max_rows: int | None = None) -> str:
    """A GitHub-flavoured Markdown table (numbers right-aligned), optionally the first rows."""
    if df.shape[1] == 0:
        return "_(empty table)_"
    shown = df if max_rows is None else df.head(max_rows)
    cols = list(df.columns)
    numeric = [_is_numeric(df[c]) for c in cols]
    lines = ["| " + " | ".join(md_cell(str(c)) for c in cols) + " |"]
    lines.append("| " + " | ".join("---:" if n else "---" for n in numeric) + " |")
    # Column by column on Python values (tolist): the same text as formatting each NumPy scalar,
    # several times faster on the long history tables. Numbers need no Markdown escaping.
    columns = []
    for c, n in zip(cols, numeric):
        texts = [format_value(v) for v in shown[c].tolist()]
        columns.append(texts if n else [md_cell(t) for t in texts])
    lines.extend("| " + " | ".join(row) + " |" for row in zip(*columns))
    if max_rows is not None and len(df) > max_rows:
        lines.append(f"\n_First {max_rows} of {len(df)} rows._")
    return "\n".join(lines)


def _is_text(series: pd.Series) -> bool:
    """A column of long strings (a claim, a sentence of numbers): wrapped, not one long line."""
    if _is_numeric(series) or not len(series):
        return False
    return max(len(str(v)) for v in series.tolist()) > WRAP_CHARS


def _cell_texts(shown: Shown, column: str) -> list[str]:
    values = shown.df[column].tolist()
    return [t if t is not None else format_value(v) for v, t in zip(values, shown.texts[column])]


def markdown_shown(shown: Shown) -> str:
    """`shown` (reporting.tables.present) as a Markdown table, with its note below."""
    df = shown.df
    if df.shape[1] == 0:
        return "_(empty table)_"
    cols = list(df.columns)
    numeric = [_is_numeric(df[c]) for c in cols]
    lines = ["| " + " | ".join(md_cell(str(c)) for c in cols) + " |"]
    lines.append("| " + " | ".join("---:" if n else "---" for n in numeric) + " |")
    columns = [[md_cell(t) for t in _cell_texts(shown, c)] for c in cols]
    lines.extend("| " + " | ".join(row) + " |" for row in zip(*columns))
    if shown.note:
        lines.append(f"\n_{md_cell(shown.note[:1].upper() + shown.note[1:])}._")
    return "\n".join(lines)


def html_shown(shown: Shown) -> str:
    """`shown` as an HTML table in a box that scrolls sideways when it must (the first column
    stays in view); numbers right-aligned, long text wrapped, verdicts as badges."""
    df = shown.df
    if df.shape[1] == 0:
        return '<p class="muted">(empty table)</p>'
    cols = list(df.columns)
    kinds = ["verdict" if c in shown.badges else "num" if _is_numeric(df[c])
             else "text" if _is_text(df[c]) else "" for c in cols]  # fmt: skip
    head = "".join(f'<th{f" class={k}" if k else ""} scope="col">{esc(c)}</th>'
                   for c, k in zip(cols, kinds))  # fmt: skip
    columns = []
    for c, k in zip(cols, kinds):
        attr = f" class={k}" if k else ""
        if c in shown.badges:
            columns.append([f'<td class=verdict><span class="badge {verdict_class(t)}">{esc(t)}'
                            "</span></td>" for t in _cell_texts(shown, c)])  # fmt: skip
        else:
            columns.append([f"<td{attr}>{esc(t)}</td>" for t in _cell_texts(shown, c)])
    body = "".join(f"<tr>{''.join(row)}</tr>" for row in zip(*columns))
    return (
        '<div class="table-wrap"><table><thead><tr>'
        + head
        + "</tr></thead><tbody>"
        + body
        + "</tbody></table></div>"
    )


def png_size(data: bytes) -> tuple[int, int]:
    """(width, height) from a PNG's IHDR chunk."""
    if data[:8] != b"\x89PNG\r\n\x1a\n" or len(data) < 24:
        return (0, 0)
    width, height = struct.unpack(">II", data[16:24])
    return int(width), int(height)


# CSS px per PNG pixel: figures are drawn at 150 dpi, so this shows 100 CSS px per inch of
# figure. One scale for every figure keeps their text the same size on the page (a 6.4-inch
# figure shown full width would otherwise have 1.5x larger text than a 9.5-inch one beside it);
# max-width still shrinks wide figures to the column. Text of 8 pt (the smallest any figure
# uses) shows at 11 CSS px.
DISPLAY_SCALE = 2 / 3
# On a phone a figure shrunk to the screen's width would have 3-5 px text: below 40rem it is
# shown at this scale instead (8 pt text at 9 CSS px) and scrolls sideways inside its own box,
# never the page.
PHONE_SCALE = 0.55


def img_tag(png: bytes, alt: str) -> str:
    """An <img> with the PNG inside (data URI), its display size given (no layout jumps) and its
    phone width as the CSS variable --pw."""
    width, height = png_size(png)
    b64 = base64.b64encode(png).decode("ascii")
    return (
        f'<img src="data:image/png;base64,{b64}" alt="{esc(alt)}" '
        f'width="{round(width * DISPLAY_SCALE)}" height="{round(height * DISPLAY_SCALE)}" '
        f'style="--w:{round(width * DISPLAY_SCALE)}px;--pw:{round(width * PHONE_SCALE)}px" '
        'loading="eager">'
    )


def paragraphs(text: str) -> str:
    """Plain text to escaped <p> paragraphs (blank lines separate them)."""
    parts = [p.strip() for p in str(text).split("\n\n") if p.strip()]
    return "".join(f"<p>{esc(' '.join(p.split()))}</p>" for p in parts)


def verdict_class(verdict: str) -> str:
    v = verdict.strip().lower()
    if v.startswith("supported"):
        return "supported"
    if v.startswith("refuted"):
        return "refuted"
    return "partial"


CSS = """
:root{--fg:#1d232a;--muted:#5b6570;--bg:#fff;--panel:#f5f7f9;--line:#d9dee3;--accent:#0072B2;
--ok:#00704f;--ok-bg:#dff3ea;--bad:#a23b00;--bad-bg:#fbe5d8;--mid:#7a5a00;--mid-bg:#fbf0cf}
*{box-sizing:border-box}
html{-webkit-text-size-adjust:100%}
body{margin:0;background:var(--bg);color:var(--fg);font:16px/1.55 system-ui,-apple-system,
"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif}
main{max-width:60rem;margin:0 auto;padding:1.5rem 1rem 3rem}
h1{font-size:1.75rem;line-height:1.2;margin:.2rem 0 .6rem}
h2{font-size:1.3rem;margin:2.2rem 0 .6rem;padding-bottom:.25rem;border-bottom:1px solid var(--line)}
h3{font-size:1.05rem;margin:1.4rem 0 .4rem}
p{margin:.5rem 0}
code,pre,.mono{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;font-size:.88em}
pre{background:var(--panel);padding:.6rem .8rem;border-radius:6px;overflow-x:auto;
white-space:pre-wrap;word-break:break-word}
.eyebrow{color:var(--muted);font-size:.85rem;letter-spacing:.04em;text-transform:uppercase;margin:0}
.summary{font-size:1.05rem}
.muted{color:var(--muted)}
.facts{display:grid;grid-template-columns:repeat(auto-fit,minmax(11rem,1fr));gap:.5rem 1rem;
margin:1rem 0;padding:.8rem 1rem;background:var(--panel);border-radius:8px}
.facts div{min-width:0}
.facts dt{color:var(--muted);font-size:.78rem;text-transform:uppercase;letter-spacing:.04em}
.facts dd{margin:0;overflow-wrap:anywhere}
.badge{display:inline-block;padding:.05rem .55rem;border-radius:.6rem;font-size:.8rem;
font-weight:600;white-space:normal;max-width:100%;overflow-wrap:anywhere;
vertical-align:baseline;border:1px solid transparent}
.supported,.completed{color:var(--ok);background:var(--ok-bg);border-color:var(--ok)}
.refuted,.failed,.broken{color:var(--bad);background:var(--bad-bg);border-color:var(--bad)}
.partial,.interrupted,.diverged,.running{color:var(--mid);background:var(--mid-bg);
border-color:var(--mid)}
.notice{border-left:4px solid var(--mid);background:var(--mid-bg);padding:.6rem .9rem;
border-radius:4px;margin:1rem 0}
.notice.failed{border-color:var(--bad);background:var(--bad-bg)}
ol.findings{padding-left:1.4rem}
ol.findings li{margin:.7rem 0}
.claim{color:var(--muted);font-size:.92rem;margin:.1rem 0}
figure{margin:1.2rem 0;break-inside:avoid;page-break-inside:avoid}
figcaption{color:var(--muted);font-size:.9rem;margin-top:.35rem}
figcaption code,figcaption a,dd,td{overflow-wrap:anywhere}
.src::before{content:"· "}
.fig{overflow-x:auto;-webkit-overflow-scrolling:touch}
img{max-width:100%;height:auto;display:block;border:1px solid var(--line);border-radius:4px;
background:#fff}
.table-wrap{overflow-x:auto;-webkit-overflow-scrolling:touch;
border:1px solid var(--line);border-radius:6px}
table{border-collapse:collapse;width:max-content;min-width:100%;font-size:.88rem}
th,td{padding:.3rem .6rem;border-bottom:1px solid var(--line);text-align:left;
white-space:nowrap;vertical-align:top;background:var(--bg)}
th{background:var(--panel);font-weight:600}
td.num,th.num{text-align:right;font-variant-numeric:tabular-nums}
td.text,th.text{white-space:normal;min-width:12rem;max-width:24rem;overflow-wrap:break-word}
tbody tr:nth-child(even)>*{background:#fafbfc}
td:first-child:not(.text),th:first-child:not(.text){position:sticky;left:0;z-index:1;
box-shadow:inset -1px 0 0 var(--line)}
td.verdict,th.verdict{white-space:normal;min-width:7rem;max-width:15rem}
details.fold{margin:2.2rem 0 .6rem}
details.fold>summary{cursor:pointer;padding-bottom:.25rem;border-bottom:1px solid var(--line)}
details.fold>summary h2{display:inline;margin:0;padding:0;border:0;font-size:1.15rem}
details.fold>summary .muted{font-size:.9rem;margin-left:.4rem}
details.fold[open]>summary{margin-bottom:.6rem}
details.more{margin:.8rem 0}details.more>summary{cursor:pointer;color:var(--accent)}
footer{margin-top:3rem;color:var(--muted);font-size:.85rem;border-top:1px solid var(--line);
padding-top:.6rem}
a{color:var(--accent)}
@media (max-width:40rem){body{font-size:15px}main{padding:1rem .75rem 2rem}h1{font-size:1.4rem}
.fig img{max-width:none;width:min(var(--w),max(100%,var(--pw)))}
td.text,th.text{min-width:10rem;max-width:16rem}td.verdict,th.verdict{max-width:10rem}}
@media print{body{font-size:11pt;background:#fff}main{max-width:none;padding:0}
h2{break-after:avoid;page-break-after:avoid}
details::details-content{content-visibility:visible;display:contents}
.table-wrap,.fig{overflow:visible;border:none}td,th{position:static}
table{width:100%;min-width:0;font-size:7.5pt}
th,td{white-space:normal;overflow-wrap:anywhere;padding:.15rem .3rem}th{position:static}
img{border:none;max-height:22cm;width:auto}a{color:inherit;text-decoration:none}
.facts,.notice,pre{background:none;border:1px solid #999}}
""".strip()
