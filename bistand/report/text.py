"""The plain-text report: pasted into the case-management system's decision-basis field.

Fixed width (78 columns), amounts right-aligned as `12 345 kr`, no control characters, `\\n`
newlines, and shorter than the field's limit even for a large household. Lines break between
words only: a word, a file name or an id longer than a line is kept whole on a line of its own.
"""

from __future__ import annotations

import re
import textwrap
from functools import lru_cache

from jinja2 import Environment, FileSystemLoader, StrictUndefined

from bistand.core.models import Assessment, CaseBundle
from bistand.report import TEMPLATE_DIR, build_view, clean_text
from bistand.report.labels import DEFAULT_GUIDELINE, NO_PROOF_CELL, format_kr
from bistand.report.plural import plural

WIDTH = 78
MAX_CHARS = 11_500
"""Below the 12 000 characters the text area takes, with room for the system's own header."""
CUT_MARKER = "[… underlaget avkortat här; hela underlaget finns i PDF-filen]"


def kr_column(amount: int | None, width: int = 12) -> str:
    return format_kr(amount).rjust(width)


def fit(text: str, width: int) -> str:
    """Left-aligned in `width` columns, cut with an ellipsis when longer."""
    text = str(text)
    return text.ljust(width) if len(text) <= width else text[: width - 1] + "…"


_AMOUNT = re.compile(
    r"(?<!\S)[^\w\s]*(?:\d{1,3}(?: \d{3})+(?: kr)?|\d+ kr)[^\w\s]*(?!\S)"
)
"""An amount as the report writes it (`12 345 kr`, `(1 000 000)`, `5 kr.`), as whole words: digits
grouped in threes after a first group of one to three, so `000000 000` or `0 000:00` is not one."""
_GLUE = "\ue000"  # a private-use character that holds an amount together while wrapping


def _glue_amounts(text: str) -> str:
    return _AMOUNT.sub(lambda match: match.group(0).replace(" ", _GLUE), text)


def word_wrap(text: str, width: int, initial: str = "", subsequent: str = "") -> list[str]:
    """Lines of at most `width` columns broken between words only (never inside a word, at a hyphen
    or inside `12 345 kr`); a word longer than a line stays whole on its own line."""
    wrapped = textwrap.wrap(
        _glue_amounts(text), width=width, initial_indent=initial, subsequent_indent=subsequent,
        break_long_words=False, break_on_hyphens=False,
    )
    return [line.replace(_GLUE, " ") for line in wrapped] or [initial.rstrip()]


def wrap(text: str, indent: int = 2, width: int = WIDTH) -> str:
    """Paragraphs wrapped to `width` with every line indented (keeps line breaks; never splits a word)."""
    prefix = " " * indent
    lines: list[str] = []
    for paragraph in str(text).split("\n"):
        lines.extend(word_wrap(paragraph, width, prefix, prefix) if paragraph.strip() else [""])
    return "\n".join(lines)


def hanging(text: str, indent: int, width: int = WIDTH) -> str:
    """A labelled line (`Handläggning:  …`) whose continuation lines start under the value."""
    return "\n".join(word_wrap(str(text), width, "", " " * indent))


def doc_column(row, width: int = 14) -> str:
    """The cost table's 'Enl. underlag' cell: the amount, or 'krävs ej' where §3.1 needs no document."""
    return NO_PROOF_CELL.rjust(width) if not row.proof_required else kr_column(row.document_amount, width)


def columns(text: str, width: int, indent: int = 2) -> str:
    """A table's first column: the label wrapped to `width`, the last line padded for the columns after it."""
    wrapped = textwrap.wrap(str(text), width=width, break_long_words=False, break_on_hyphens=False) or [""]
    prefix = " " * indent
    return "\n".join(prefix + line for line in wrapped[:-1]) + ("\n" if len(wrapped) > 1 else "") + (
        prefix + wrapped[-1].ljust(width))


def quote(text: str, width: int = WIDTH) -> str:
    """Untrusted text, wrapped and prefixed with `  | ` so it reads as a quotation."""
    return "\n".join("  | " + line[4:] for line in wrap(text, indent=4, width=width).split("\n"))


def data_line(items: list) -> str:
    """A finding's data as `key: value; key: value`."""
    return "; ".join(f"{item.key}: {item.value}" for item in items)


@lru_cache(maxsize=1)
def _environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader(TEMPLATE_DIR),
        autoescape=False,  # noqa: S701 - plain text for a text area, nothing is interpreted as markup
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        undefined=StrictUndefined,
    )
    env.filters.update(
        kr=kr_column, fit=fit, wrap=wrap, quote=quote, amount=format_kr, data_line=data_line, columns=columns,
        hanging=hanging, doc_column=doc_column,
    )
    env.globals["count"] = plural
    return env


_LINE_PREFIX = re.compile(r" *(?:\| )?")
"""A line's indentation, with the `| ` of a quoted message: kept on every continuation line."""


def _enforce_width(text: str) -> str:
    """A last guard: word-wrap any line that a long name or code pushed past 78 columns.

    The continuation is indented two more columns than the line; no word is ever cut.
    """
    lines: list[str] = []
    for line in text.split("\n"):
        if len(line) <= WIDTH:
            lines.append(line.rstrip())
            continue
        prefix = _LINE_PREFIX.match(line).group(0)
        lines.extend(word_wrap(line[len(prefix):], WIDTH, prefix, prefix + "  "))
    return "\n".join(lines)


def _enforce_length(text: str) -> str:
    if len(text) <= MAX_CHARS:
        return text
    head = text[: MAX_CHARS - len(CUT_MARKER) - 2]
    return head[: head.rfind("\n")] + "\n" + CUT_MARKER


def _render(view, compact: bool, findings_limit: int) -> str:
    text = _environment().get_template("report.txt.j2").render(
        v=view, width=WIDTH, compact=compact, findings_limit=findings_limit
    )
    return _enforce_width(clean_text(text))  # clean_text also strips anything a template line let through


def render_text(bundle: CaseBundle, assessment: Assessment, guideline: str = DEFAULT_GUIDELINE) -> str:
    """The decision basis as plain Swedish text (RULES.md §7).

    Too long for the text area (a large household with many findings): the findings lose their data
    lines first, then the last findings are left out with a marker, so the calculation, the
    applicant's message, the sources and the versions are always there. The PDF has everything.
    """
    view = build_view(bundle, assessment, guideline)
    limit = len(view.findings)
    text = _render(view, compact=False, findings_limit=limit)
    if len(text) > MAX_CHARS:
        text = _render(view, compact=True, findings_limit=limit)
    while len(text) > MAX_CHARS and limit > 0:
        limit = max(0, limit - max(1, (len(text) - MAX_CHARS) // 150))
        text = _render(view, compact=True, findings_limit=limit)
    return _enforce_length(text) + "\n"
