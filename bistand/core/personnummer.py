"""Swedish personnummer / samordningsnummer that masks itself wherever it is printed."""

from __future__ import annotations

import logging
import re
from datetime import date
from typing import Any

from pydantic import GetCoreSchemaHandler
from pydantic_core import core_schema

_PATTERN = re.compile(r"^(\d{8})-?(\d{4})$")


def luhn_check_digit(nine_digits: str) -> int:
    """Check digit over the 9 first digits of the 10-digit form (YYMMDDNNN)."""
    total = 0
    for index, char in enumerate(nine_digits):
        product = int(char) * (2 if index % 2 == 0 else 1)
        total += product - 9 if product > 9 else product
    return (10 - total % 10) % 10


class InvalidPersonnummer(ValueError):
    """Raised for a malformed number or a bad check digit; the message never holds the number."""


class Personnummer(str):
    """A validated 12-digit personnummer (YYYYMMDD-NNNC).

    `str()` and `repr()` give the masked form (`19850312-XXXX`) so the number cannot leak
    into logs by accident; `.full` is the explicit accessor for the report and the systems.
    """

    __slots__ = ("_full",)

    def __new__(cls, value: str) -> Personnummer:
        if isinstance(value, Personnummer):
            return value
        match = _PATTERN.match(str(value).strip())
        if not match:
            raise InvalidPersonnummer("personnummer must be 12 digits: YYYYMMDD-NNNN")
        head, tail = match.groups()
        ten = head[2:] + tail
        if luhn_check_digit(ten[:9]) != int(ten[9]):
            raise InvalidPersonnummer(f"personnummer {head}-XXXX has a bad check digit")
        year, month, day = int(head[:4]), int(head[4:6]), int(head[6:8])
        if day > 60:
            day -= 60
        try:
            date(year, month, day)
        except ValueError as exc:
            raise InvalidPersonnummer(f"personnummer {head}-XXXX has no valid birth date") from exc
        full = f"{head}-{tail}"
        obj = super().__new__(cls, f"{head}-XXXX")
        obj._full = full
        return obj

    @property
    def full(self) -> str:
        """The whole number, for the report and for typing into the systems."""
        return self._full

    @property
    def masked(self) -> str:
        return f"{self._full[:8]}-XXXX"

    @property
    def is_samordningsnummer(self) -> bool:
        return int(self._full[6:8]) > 60

    @property
    def birth_date(self) -> date:
        day = int(self._full[6:8])
        if day > 60:
            day -= 60
        return date(int(self._full[:4]), int(self._full[4:6]), day)

    def age_on(self, when: date) -> int:
        born = self.birth_date
        return when.year - born.year - ((when.month, when.day) < (born.month, born.day))

    def __repr__(self) -> str:
        return f"Personnummer('{self.masked}')"

    def __str__(self) -> str:
        return self.masked

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Personnummer):
            return self._full == other._full
        if isinstance(other, str):
            try:
                return self._full == Personnummer(other)._full
            except InvalidPersonnummer:
                return False
        return NotImplemented

    def __hash__(self) -> int:
        return hash(self._full)

    def __reduce__(self) -> tuple[Any, ...]:
        return (Personnummer, (self._full,))

    @classmethod
    def __get_pydantic_core_schema__(
        cls, source: Any, handler: GetCoreSchemaHandler
    ) -> core_schema.CoreSchema:
        return core_schema.no_info_plain_validator_function(
            cls._validate,
            serialization=core_schema.plain_serializer_function_ser_schema(
                lambda value: value.full, when_used="always"
            ),
            json_schema_input_schema=core_schema.str_schema(),
        )

    @classmethod
    def _validate(cls, value: Any) -> Personnummer:
        if isinstance(value, Personnummer):
            return value
        if not isinstance(value, str):
            raise InvalidPersonnummer("personnummer must be a string")
        return cls(value)


# One masker for every way a personnummer or samordningsnummer is written in text that leaves
# the bot for someone other than the caseworker (log.html, output.xml, console, queue, dashboard,
# traces). See docs/security.md "Masking".
#   - 12 digits (YYYYMMDDNNNC) or 10 digits (YYMMDDNNNC);
#   - between date and number: nothing, `-`, `+` (a centenarian's 10-digit form), one space
#     (also no-break and thin spaces), a dash-like character, or those percent-encoded (`%2D`,
#     `%2B`, `%20`, doubly encoded `%252D`);
#   - inside tokens (`pnr_198503121234`, `ANS198503121234`): only neighbouring digits end a match.
# A run counts when its date part is a plausible date (day + 60 for a samordningsnummer; a
# 12-digit form needs a year 18xx-20xx). The check digit is NOT required: a number with a typo
# must still be masked, and masking an odd 10-digit figure that happens to start with a date
# costs nothing in a log. An application id (ANS-YYYY-NNNNNN) followed by a space and a figure
# is left alone.
_SEPARATOR = r"(?:[-+\u2010-\u2015\u2212 \t\u00a0\u202f]|%(?:25)?(?:2[dDbB]|20)|%C2%A0)?"
_IN_TEXT = re.compile(
    r"(?<![0-9])"
    r"(?P<date>(?:18|19|20)[0-9]{6}|[0-9]{6})(?P<sep>" + _SEPARATOR + r")(?P<tail>[0-9]{4})(?![0-9])"
)


def _plausible_date_part(digits: str) -> bool:
    """YYYYMMDD or YYMMDD with a real calendar day; a samordningsnummer's day is day + 60."""
    # a two-digit year: either century will do (29 February needs a leap year in one of them)
    years = [int(digits[:4])] if len(digits) == 8 else [1900 + int(digits[:2]), 2000 + int(digits[:2])]
    month, day = int(digits[-4:-2]), int(digits[-2:])
    if day > 60:
        day -= 60
    for year in years:
        try:
            date(year, month, day)
        except ValueError:
            continue
        return True
    return False


_APPLICATION_ID_BEFORE = re.compile(r"ANS-[0-9]{4}-$")


def _mask_match(match: re.Match[str]) -> str:
    if not _plausible_date_part(match["date"]):
        return match[0]
    if (len(match["date"]) == 6 and match["sep"].strip() == ""  # `ANS-2026-250101 7200`: an id, then a figure
            and _APPLICATION_ID_BEFORE.search(match.string, max(0, match.start() - 9), match.start())):
        return match[0]
    return f"{match['date']}{match['sep'] or '-'}XXXX"


def mask_personnummer_in_text(text: str) -> str:
    """Mask the last four digits of every personnummer or samordningsnummer in free text, in any
    of the forms above (`19850312-1234`, `850312+1234`, `pnr_8503121234`, `850312%2D1234`)."""
    if not text:
        return text
    return _IN_TEXT.sub(_mask_match, text)


class MaskingLogFilter(logging.Filter):
    """A logging filter for a handler: the formatted message with every personnummer masked
    (the dashboard's log and any console log of a process that is not a Robot Framework run)."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        masked = mask_personnummer_in_text(message)
        if masked != message:
            record.msg, record.args = masked, ()
        return True
