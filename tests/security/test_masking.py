"""One masker for every form of a personnummer or samordningsnummer (docs/security.md, Masking).

Each form in `HOSTILE_FORMS` went through `mask_personnummer_in_text` unmasked before issue 16.
The property tests embed generated numbers, valid or with a typo in the check digit, in every form
in random text and require that none survives, and that ordinary figures are left alone.
"""

from __future__ import annotations

import logging
from datetime import date, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bistand.core.personnummer import MaskingLogFilter, luhn_check_digit, mask_personnummer_in_text

SEPARATORS = ["", "-", "+", " ", "\u00a0", "\u2013", "%2D", "%2d", "%2B", "%20", "%252D"]
WRAPPERS = ["{}", "pnr_{}", "ANS{}", "?pnr={}&x=1", '"{}"', "<td>{}</td>", "/ansokan/{}/bilaga", "({})", "{}."]

HOSTILE_FORMS = [
    "850312-1234", "8503121234", "19850312+1234", "850312+1234", "19850312 1234", "pnr_198503121234",
    "ANS198503121234", "850312%2D1234", "19850312%2d1234", "pnr_8503121234", "19850372-1234",  # samordning
    "/cases/19850312%2D1234/x",
]


@pytest.mark.parametrize("text", HOSTILE_FORMS)
def test_each_form_the_issue_found_unmasked_is_masked(text: str) -> None:
    masked = mask_personnummer_in_text(text)
    assert "1234" not in masked
    assert "XXXX" in masked


@pytest.mark.parametrize("text", [
    "12 345 kr", "Hyra 7 200 kr", "ANS-2026-000001", "ANS-2026-250101 7200 kr", "2026-12-01",
    "EB-2026-0001", "20261205T001448Z", "1234567890", "Beslut 2026-12-01 10:15", "period 2026-12",
    "ANS-2026-123456 ANS-2026-654321",
])
def test_ordinary_figures_are_left_alone(text: str) -> None:
    assert mask_personnummer_in_text(text) == text


@st.composite
def personnummer_digits(draw: st.DrawFn) -> tuple[str, str]:
    """(date part YYYYMMDD, last four): a valid number, a samordningsnummer, or one with a typo."""
    born = draw(st.dates(min_value=date(1890, 1, 1), max_value=date(2026, 12, 31)))
    day = born.day + (60 if draw(st.booleans()) else 0)
    head = f"{born:%Y%m}{day:02d}"
    serial = draw(st.from_regex(r"\A[0-9]{3}\Z"))
    check = luhn_check_digit(head[2:] + serial)
    if draw(st.booleans()):  # a typo: any other check digit must be masked as well
        check = (check + draw(st.integers(1, 9))) % 10
    return head, f"{serial}{check}"


NON_DIGIT_TEXT = st.text(st.characters(blacklist_categories=("Nd", "Cs")), max_size=40)


@settings(max_examples=400, suppress_health_check=[HealthCheck.too_slow])
@given(number=personnummer_digits(), twelve=st.booleans(), separator=st.sampled_from(SEPARATORS),
       wrapper=st.sampled_from(WRAPPERS), before=NON_DIGIT_TEXT, after=NON_DIGIT_TEXT,
       noise=st.lists(st.integers(0, 10**9), max_size=4))
def test_no_number_in_any_form_survives_in_random_text(number, twelve, separator, wrapper, before, after,
                                                       noise) -> None:
    head, tail = number
    written = (head if twelve else head[2:]) + separator + tail
    figures = " ".join(str(n) for n in noise)
    text = f"{before} {figures} {wrapper.format(written)} {after} {figures}"
    masked = mask_personnummer_in_text(text)
    assert written not in masked
    assert wrapper.format((head if twelve else head[2:]) + (separator or "-") + "XXXX") in masked


@st.composite
def ordinary_figures(draw: st.DrawFn) -> str:
    kind = draw(st.sampled_from(["amount", "id", "date", "case"]))
    if kind == "amount":
        return f"{draw(st.integers(0, 999_999)):,}".replace(",", " ") + " kr"
    if kind == "id":
        return f"ANS-{draw(st.integers(2000, 2099))}-{draw(st.integers(0, 999_999)):06d}"
    if kind == "date":
        day = date(2000, 1, 1) + timedelta(days=draw(st.integers(0, 365 * 40)))
        return day.isoformat()
    return f"EB-{draw(st.integers(2000, 2099))}-{draw(st.integers(0, 9999)):04d}"


@settings(max_examples=300)
@given(figures=st.lists(ordinary_figures(), min_size=1, max_size=6),
       words=st.lists(st.sampled_from(["Hyra", "avser", "ärende", "belopp:", "den", "för", "–"]), min_size=1))
def test_amounts_ids_dates_and_case_numbers_are_left_alone(figures: list[str], words: list[str]) -> None:
    text = " ".join(f"{words[i % len(words)]} {figure}" for i, figure in enumerate(figures))
    assert mask_personnummer_in_text(text) == text


def test_a_log_record_with_a_number_in_its_arguments_is_masked() -> None:
    logger = logging.getLogger("bistand.test.masking")
    handler = logging.Handler()
    records: list[str] = []
    handler.emit = lambda record: records.append(record.getMessage())  # type: ignore[method-assign]
    handler.addFilter(MaskingLogFilter())
    logger.addHandler(handler)
    try:
        logger.warning("refused login for %r", "8503121234")
    finally:
        logger.removeHandler(handler)
    assert records == ["refused login for '850312-XXXX'"]
