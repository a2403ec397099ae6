"""Swedish personnummer / samordningsnummer that masks itself wherever it is printed."""

from __future__ import annotations

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


def mask_personnummer_in_text(text: str) -> str:
    """Mask every personnummer-shaped token in free text (for logs)."""
    return re.sub(r"\b(\d{8})-?(\d{4})\b", r"\1-XXXX", text)
