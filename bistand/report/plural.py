"""Counted nouns with the right number: `1 person`, `2 personer`; `1 item`, `2 items`.

One helper for the report (Swedish) and the console and log lines (English), so no text says
"1 personer" or "notering(ar)".
"""

from __future__ import annotations


def plural(count: int, singular: str, plural_form: str | None = None) -> str:
    """`count` and the noun in the form that agrees with it (English `+s` when no plural is given)."""
    return f"{count} {singular if count == 1 else (plural_form or singular + 's')}"
