"""Text from a run folder or from the user, made safe for where it is shown.

A run folder may come from someone else, and a user's own options (a CSV's column names, a
--target) reach headlines, findings and reports, so nothing is shown as it was typed:

- `terminal(text)`: control characters shown as escapes (ESC as `\\x1b`, a newline as `\\n`,
  Unicode's invisible direction and line controls as `\\u202e` ...), so no text can move the
  cursor, clear the screen, set the window title, change colours or reorder what is shown.
- `md_text(text)`: for prose in report.md: control characters escaped (newlines kept) and
  every `<` that could open raw HTML or an autolink written `&lt;`, so no CommonMark renderer
  shows live HTML; Markdown emphasis and code in nnhw's own sentences still work.
- `md_inline(text)`: for a value quoted into report.md (a run id, a date, an error message):
  one line, every character Markdown gives a meaning to backslash-escaped.
- `md_code_block(text)`: a fenced block whose fence is longer than any run of backticks in the
  text, so no argument can close it early.
- `shell_join(argv)`: a command line that a POSIX shell reads back as `argv` and that has no
  control character in it: arguments holding one are written in `$'...'` quoting (bash, zsh).

HTML needs none of this beyond html.escape (reporting.html.esc), which every piece of text in
report.html already goes through.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Iterable

# C0 and C1 controls, DEL, and the invisible Unicode format characters that change how the rest
# of a line is shown (zero-width, bidirectional overrides and isolates, line/paragraph
# separators, byte order mark).
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u061c\u200b-\u200f\u2028-\u202e\u2060-\u2069\ufeff]")
_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}
_RAW_HTML = re.compile(r"<(?=[A-Za-z/!?])")  # what could start a tag, comment or autolink
_MD_SPECIAL = re.compile(r"([\\`*_\[\]<>|~&#!])")
_BACKTICKS = re.compile(r"`+")


def _visible(char: str) -> str:
    if char in _NAMED:
        return _NAMED[char]
    code = ord(char)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def terminal(text: object, keep_newlines: bool = False) -> str:
    """`text` with every control character shown as an escape (module docstring); newlines
    kept as line breaks when `keep_newlines`."""
    s = str(text)
    if keep_newlines:
        return "\n".join(
            _CONTROL.sub(lambda m: _visible(m.group()), line) for line in s.split("\n")
        )
    return _CONTROL.sub(lambda m: _visible(m.group()), s)


def md_text(text: object) -> str:
    """Prose for report.md: controls escaped (newlines kept), no raw HTML (module docstring)."""
    return _RAW_HTML.sub("&lt;", terminal(text, keep_newlines=True))


def md_inline(text: object) -> str:
    """A value quoted into report.md: one line, Markdown's special characters escaped."""
    return _MD_SPECIAL.sub(r"\\\1", terminal(text))


def md_code_block(text: object, info: str = "") -> str:
    """`text` as a fenced code block that nothing in `text` can close."""
    body = terminal(text, keep_newlines=True)
    longest = max((len(m.group()) for m in _BACKTICKS.finditer(body)), default=0)
    fence = "`" * max(3, longest + 1)
    return f"{fence}{info}\n{body}\n{fence}"


def _dollar_quote(arg: str) -> str:
    out = []
    for char in arg:
        if char in "\\'":
            out.append("\\" + char)
        elif _CONTROL.match(char):
            out.append(_visible(char))
        else:
            out.append(char)
    return "$'" + "".join(out) + "'"


def shell_join(argv: Iterable[object]) -> str:
    """The arguments as one shell command line without control characters (module docstring)."""
    return " ".join(
        _dollar_quote(a) if _CONTROL.search(a) else shlex.quote(a) for a in map(str, argv)
    )
