"""The HTML report: one A4-friendly page per application, printed to PDF by `bistand.report.pdf`.

Autoescape is on: every value, above all the applicant's message, is shown as text and never
interpreted. The stylesheet is inlined so the page needs no files or network when printed.
"""

from __future__ import annotations

from functools import lru_cache

from jinja2 import Environment, FileSystemLoader, StrictUndefined
from markupsafe import Markup, escape

from bistand.core.models import Assessment, CaseBundle
from bistand.report import TEMPLATE_DIR, build_view
from bistand.report.labels import DEFAULT_GUIDELINE, NORM_KEY, format_kr_html
from bistand.report.plural import plural


def small_keys(text: str) -> Markup:
    """Escaped text in which every norm table key (already after its Swedish words) is set small."""
    parts = NORM_KEY.split(str(text))  # the key is a capture group: odd items are keys
    key = Markup('<code class="key">{}</code>')
    return Markup("").join(key.format(part) if index % 2 else escape(part) for index, part in enumerate(parts))


@lru_cache(maxsize=1)
def _environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader(TEMPLATE_DIR),
        autoescape=True,
        trim_blocks=True,
        lstrip_blocks=True,
        undefined=StrictUndefined,
    )
    env.filters["kr"] = format_kr_html
    env.filters["small_keys"] = small_keys
    env.globals["count"] = plural
    return env


def render_html(bundle: CaseBundle, assessment: Assessment, guideline: str = DEFAULT_GUIDELINE) -> str:
    """The decision basis as a standalone HTML document (RULES.md §7)."""
    view = build_view(bundle, assessment, guideline)
    return _environment().get_template("report.html.j2").render(v=view)
