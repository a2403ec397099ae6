"""Application ids as the e-service writes them (ANS-YYYY-NNNNNN), checked before any use.

An id read from the e-service (or a work item, or a replayed work-items file) names files
(`output/reports/<id>.txt`, `failures/<id>-tryN/`) and appears in HTML (log.html's links): one
that does not match the pattern (`../../x`, `<script>`, a personnummer) is refused, not used.
"""

from __future__ import annotations

import re

from bistand.core.errors import BusinessError

APPLICATION_ID = re.compile(r"^ANS-[0-9]{4}-[0-9]{6}$")


def is_application_id(value: object) -> bool:
    return isinstance(value, str) and APPLICATION_ID.fullmatch(value) is not None


def checked_application_id(value: object) -> str:
    """The id when it has the e-service's form; BusinessError APPLICATION_ID_INVALID otherwise
    (the message never repeats the value: it may be a path, markup or personal data)."""
    if not is_application_id(value):
        raise BusinessError("APPLICATION_ID_INVALID",
                            "an application id not of the form ANS-ÅÅÅÅ-NNNNNN was refused")
    return value  # type: ignore[return-value]
