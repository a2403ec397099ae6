"""Swedish labels for the codes the rules use, and the amount format the caseworkers read.

One place for every word the report shows for a code, so the text, the HTML and the PDF say the
same thing (GLOSSARY.md).
"""

from __future__ import annotations

import re

from bistand.core.models import CostType, IncomeType, Mode, Proposal, Register, Role
from bistand.report.plural import plural
from bistand.settings.model import DEFAULT_GUIDELINE as DEFAULT_GUIDELINE  # the setting `guideline`'s default

NBSP = "\u00a0"

PROPOSAL_LABELS: dict[Proposal, str] = {
    Proposal.APPROVE: "Bevilja",
    Proposal.REJECT: "Avslå",
    Proposal.MANUAL_REVIEW: "Manuell handläggning",
}

MODE_LABELS: dict[Mode, str] = {
    Mode.SUPPORT: "Beslutsstöd – handläggaren fattar beslutet",
    Mode.AUTOMATED: "Automatiserat beslut – roboten beslutar återansökningar utan blockerande noteringar",
}

KIND_LABELS: dict[str, str] = {"first": "Nyansökan", "reapplication": "Återansökan"}

ROLE_LABELS: dict[Role, str] = {
    Role.APPLICANT: "Sökande",
    Role.PARTNER: "Medsökande",
    Role.CHILD: "Barn",
    Role.OTHER_ADULT: "Annan vuxen",
}

COST_LABELS: dict[CostType, str] = {
    CostType.HYRA: "Hyra",
    CostType.HUSHALLSEL: "Hushållsel",
    CostType.HEMFORSAKRING: "Hemförsäkring",
    CostType.FACKAVGIFT: "Fackavgift",
    CostType.AKASSA: "A-kasseavgift",
    CostType.ARBETSRESOR: "Arbetsresor",
    CostType.BARNOMSORG: "Barnomsorg",
    CostType.LAKARVARD: "Läkarvård",
    CostType.MEDICIN: "Medicin",
    CostType.TANDVARD: "Tandvård",
    CostType.GLASOGON: "Glasögon",
    CostType.OVRIGT: "Övrigt",
}

INCOME_LABELS: dict[IncomeType, str] = {
    IncomeType.LON: "Lön (netto)",
    IncomeType.SJUKPENNING: "Sjukpenning",
    IncomeType.FORALDRAPENNING: "Föräldrapenning",
    IncomeType.AKTIVITETSSTOD: "Aktivitetsstöd",
    IncomeType.ETABLERINGSERSATTNING: "Etableringsersättn.",
    IncomeType.AKASSA_ERSATTNING: "A-kassa",
    IncomeType.BOSTADSBIDRAG: "Bostadsbidrag",
    IncomeType.BARNBIDRAG: "Barnbidrag",
    IncomeType.UNDERHALLSSTOD: "Underhållsstöd",
    IncomeType.SJUKERSATTNING: "Sjukersättning",
    IncomeType.AKTIVITETSERSATTNING: "Aktivitetsersättning",
    IncomeType.PENSION: "Pension",
    IncomeType.BOSTADSTILLAGG: "Bostadstillägg",
    IncomeType.STUDIEMEDEL: "Studiemedel",
    IncomeType.OVRIG_INKOMST: "Övrig inkomst",
}

REGISTER_LABELS: dict[Register, str] = {
    Register.ESERVICE: "E-tjänsten",
    Register.FK: "Försäkringskassan",
    Register.AF: "Arbetsförmedlingen",
    Register.CSN: "CSN",
    Register.SKV: "Skatteverket",
    Register.PM: "Pensionsmyndigheten",
    Register.AKASSA: "A-kassan",
    Register.CASEMGMT: "Verksamhetssystemet",
    Register.FRAME: "Referensramen",
    Register.NORM: "Riksnormen",
}

NORM_STATUS_LABELS: dict[str, str] = {
    "official": "officiell",
    "derived": "härledd",
    "not_counted": "räknas ej",
}

FINDING_TITLES: dict[str, str] = {
    "NORM_OUT_OF_SCOPE": "Person utanför riksnormen",
    "ATTACHMENT_MISSING": "Underlag saknas",
    "ATTACHMENT_UNVERIFIED": "Underlag kan inte läsas maskinellt",
    "ATTACHMENT_AMOUNT_MISMATCH": "Underlagets belopp avviker",
    "COST_NOT_IN_FRAME": "Kostnad finns inte i referensramen",
    "COST_CAPPED": "Kapad kostnad",
    "INCOME_MISMATCH": "Inkomst avviker från registret",
    "INCOME_UNDECLARED": "Inkomst i registret är inte uppgiven",
    "INCOME_NOT_IN_REGISTER": "Uppgiven inkomst finns inte i registret",
    "ASSETS_COUNTED": "Tillgångar räknas som inkomst",
    "FRAME_MISSING": "Referensram saknas",
    "FRAME_INVALID": "Referensramen kan inte läsas",
    "FRAME_EXPIRED": "Referensramen gäller inte hela perioden",
    "HOUSEHOLD_MISMATCH": "Hushållet stämmer inte med folkbokföringen",
    "ADDRESS_OUTSIDE_MUNICIPALITY": "Folkbokförd i annan kommun",
    "AF_NOT_REGISTERED": "Inte inskriven hos Arbetsförmedlingen",
    "STUDIES": "Studiemedel under perioden",
    "EXPECTED_INCOME_MISSING": "Förväntad inkomst saknas",
    "FIRST_APPLICATION": "Nyansökan",
    "HOUSEHOLD_UNCLEAR": "Hushållet kan inte bedömas",
    "NORM_UNVERIFIED": "Normbelopp inte kontrollerade mot SFS",
    "DUPLICATE_PERIOD": "Månaden har redan ett beslut eller en annan ansökan",
}

DATA_KEY_LABELS: dict[str, str] = {
    "personnummer": "personnummer",
    "type": "typ",
    "cost_type": "kostnadstyp",
    "income_type": "inkomsttyp",
    "declared": "yrkat",
    "register": "register",
    "register_amount": "enligt register",
    "document_amount": "enligt underlag",
    "cap": "tak",
    "approved": "godkänt",
    "counted": "räknat",
    "amount": "belopp",
    "file": "fil",
    "file_name": "fil",
    "filename": "fil",
    "sheet": "blad",
    "cell": "cell",
    "period": "period",
    "valid_from": "giltig från",
    "valid_to": "giltig till",
    "bank_balance": "banksaldo",
    "asset_buffer": "buffert",
    "excess": "räknas som inkomst",
    "municipality": "kommun",
    "role": "roll",
    "age": "ålder",
    "reason": "orsak",
    "files": "filer",
    "unreadable": "ej läsbara",
    "attachments": "bilagor",
    "studiemedel": "studiemedel",
    "registered_not_declared": "folkbokförda men inte uppgivna",
    "not_registered_at_address": "uppgivna men inte folkbokförda på adressen",
    "registered_municipality": "folkbokföringskommun",
    "partners": "medsökande",
    "applicants": "sökande",
    "mode": "läge",
    "kind": "ansökningstyp",
    "expected_amount": "förväntat belopp",
    "af_known": "känd hos Arbetsförmedlingen",
    "problem": "problem",
    "values": "härledda belopp",
    "norm_year": "normår",
    "birth_date": "födelsedatum",
    "other_application": "annan ansökan",
    "status": "status",
    "received": "inkommen",
    "decision_period": "beslutsperiod",
    "decision": "beslut",
    "decided": "registrerat",
}

DATA_VALUE_LABELS: dict[str, dict[str, str]] = {
    "reason": {
        "applicant_count": "antalet sökande är inte exakt en",
        "partner_count": "fler än en medsökande",
        "not_born": "personen är inte född den första dagen i månaden",
        "applicant_not_registered": "sökanden finns inte i folkbokföringen",
        "other_adult": "annan vuxen i hushållet",
        "child_21_or_older": "barn som är 21 år eller äldre",
        "youth_not_in_school": "ungdom 19–20 år som inte går i skola",
        "lunch_at_home": "barn 0–6 år som äter lunch hemma",
    },
    "af_known": {"yes": "ja", "no": "nej"},
    "mode": {"support": "beslutsstöd", "automated": "automatiserat beslut"},
    "decision": {"approve": "bevilja", "reject": "avslå"},
}
"""Swedish words for the code values a finding's data can carry (besides cost, income and role types)."""

NO_PROOF_NOTE = "Underlag krävs inte för denna kostnadstyp."
NO_PROOF_CELL = "krävs ej"


_ADULT_KEYS = {"single": "Vuxen ensamstående", "couple": "Vuxna sambor/makar"}
NORM_KEY = re.compile(r"\b(adults\.(?:single|couple)|children\.\d+(?:-\d+)?|common\.\d+\+?)")
"""A riksnorm table key as the rules write it: adults.single, children.4-6, common.3, common.7+."""


def norm_key_label(key: str) -> str:
    """Swedish words for a riksnorm table key (`common.1` → `Gemensamma kostnader 1 person`); '' when unknown."""
    group, _, rest = key.partition(".")
    if group == "adults":
        return _ADULT_KEYS.get(rest, "")
    if group == "children" and rest:
        ages = rest.replace("-", "–")
        return f"Ungdom {ages} år i skola" if rest == "19-20" else f"Barn {ages} år"
    if group == "common" and rest:
        if rest.endswith("+"):
            return f"Gemensamma kostnader {rest[:-1]} personer eller fler"
        if rest.isdigit():
            return f"Gemensamma kostnader {plural(int(rest), 'person', 'personer')}"
    return ""


def with_norm_key_labels(text: str) -> str:
    """Every table key in a sentence gets its Swedish words first and the key in brackets."""
    def labelled(match: re.Match) -> str:
        words = norm_key_label(match.group(1))
        return f"{words} ({match.group(1)})" if words else match.group(1)
    return NORM_KEY.sub(labelled, text)

AMOUNT_KEY_PARTS = (
    "amount", "declared", "register_amount", "cap", "approved", "counted", "sum", "excess", "balance",
    "buffer", "total", "kronor", "deduction", "studiemedel",
)


def format_kr(amount: int | None, space: str = " ") -> str:
    """`12345` → `12 345 kr` (thousands grouped, whole kronor); None → `–`."""
    if amount is None:
        return "–"
    sign = "-" if amount < 0 else ""
    grouped = f"{abs(int(amount)):,}".replace(",", space)
    return f"{sign}{grouped}{space}kr"


def format_kr_html(amount: int | None) -> str:
    """As `format_kr` with non-breaking spaces, so an amount never wraps in a table cell."""
    return format_kr(amount, NBSP)


def label(mapping: dict, code: object) -> str:
    """The Swedish label of a code, or the code itself when the label is unknown."""
    try:
        return mapping[code]
    except (KeyError, TypeError):
        return str(code)


def is_amount_key(key: str) -> bool:
    return any(part in key for part in AMOUNT_KEY_PARTS)
