"""RULES.md §2: the norm (riksnormen) = Σ personal costs + common costs for the household's size."""

from __future__ import annotations

from bistand.core.models import Application, Finding, Member, Mode, NormLine, Register, Role
from bistand.core.norm import NormTable, NormValue
from bistand.core.rules.common import finding, kr
from bistand.core.rules.household import age_on_period_start, is_born_by_period_start, members_in_household_size

OLDEST_CHILD_AGE = 20
YOUTH_BAND = "19-20"


def child_band(age: int) -> str | None:
    """RULES.md §2: the age band of a child (0, 1-2, 3, 4-6, 7-10, 11-14, 15-18, 19-20); None from 21."""
    if age < 0 or age > OLDEST_CHILD_AGE:
        return None
    for band, (low, high) in {
        "0": (0, 0), "1-2": (1, 2), "3": (3, 3), "4-6": (4, 6), "7-10": (7, 10),
        "11-14": (11, 14), "15-18": (15, 18), "19-20": (19, 20),
    }.items():
        if low <= age <= high:
            return band
    return None  # pragma: no cover - the bands cover 0..20


def band_label(band: str) -> str:
    text = band.replace("-", "–")
    return f"Ungdom {text} år i skola" if band == YOUTH_BAND else f"Barn {text} år"


def _line(member: Member | None, label: str, key: str, value: NormValue, note: str = "") -> NormLine:
    return NormLine(
        personnummer=member.personnummer if member else None,
        label=label, table_key=key, amount=value.amount, status=value.status, note=note,
    )


def _not_counted(member: Member, label: str, key: str, note: str) -> NormLine:
    return NormLine(personnummer=member.personnummer, label=label, table_key=key, amount=0,
                    status="not_counted", note=note)


def _out_of_scope(member: Member, reason: str, message: str, age: int) -> Finding:
    return finding("NORM_OUT_OF_SCOPE", message, Register.ESERVICE, personnummer=member.personnummer.full,
                   role=member.role.value, age=age, reason=reason)


def adult_norm_lines(application: Application, table: NormTable) -> list[NormLine]:
    """RULES.md §2: `adults.single` for an applicant without a partner; `adults.couple` once for
    applicant and partner together (shown on the applicant's line; the partner's line is 0 kr).

    Reading for unclear households (HOUSEHOLD_UNCLEAR is raised by §1): applicants and partners are
    paired in order as couples; anyone left over gets `adults.single`.
    """
    applicants = [m for m in application.members if m.role is Role.APPLICANT]
    partners = [m for m in application.members if m.role is Role.PARTNER]
    lines: list[NormLine] = []
    pairs = min(len(applicants), len(partners))
    couple = table.adults["couple"]
    for first, second in zip(applicants[:pairs], partners[:pairs], strict=True):
        lines.append(_line(first, "Vuxna, sambor/makar (sökande och medsökande tillsammans)", "adults.couple", couple))
        lines.append(NormLine(personnummer=second.personnummer, label="Vuxen, medsökande", table_key="adults.couple",
                              amount=0, status=couple.status, note="Ingår i beloppet för sambor/makar."))
    for single in applicants[pairs:] + partners[pairs:]:
        lines.append(_line(single, "Vuxen, ensamstående", "adults.single", table.adults["single"]))
    return lines


def personal_norm_line(member: Member, application: Application, table: NormTable) -> tuple[NormLine, Finding | None]:
    """RULES.md §2: the personal cost of a child or other adult, or NORM_OUT_OF_SCOPE (blocking) with
    personal cost 0 for an `other_adult`, a child of 21 or more, a youth of 19-20 not in school and a
    child of 0-6 marked `lunch_at_home`."""
    age = age_on_period_start(member, application.period)
    if member.role is Role.OTHER_ADULT:
        return (_not_counted(member, "Annan vuxen i hushållet", "", "Ingår inte i riksnormen för hushållet."),
                _out_of_scope(member, "other_adult", "En annan vuxen i hushållet ingår inte i normberäkningen; "
                              "handläggaren bedömer hur personen ska räknas.", age))
    if not is_born_by_period_start(member, application.period):
        return _not_counted(member, "Barn, inte fött", "", "Inte fött den första dagen i månaden."), None
    band = child_band(age)
    if band is None:
        return (_not_counted(member, "Barn 21 år eller äldre", "", "Ingen barnnorm från 21 år."),
                _out_of_scope(member, "child_21_or_older",
                              f"Ett barn i hushållet är {age} år och har ingen barnnorm från 21 år.", age))
    key = f"children.{band}"
    if band == YOUTH_BAND and not member.in_school:
        return (_not_counted(member, "Ungdom 19–20 år, inte i skola", key, "Barnnorm 19–20 år gäller bara i skola."),
                _out_of_scope(member, "youth_not_in_school",
                              f"En ungdom på {age} år går inte i skola och har därför ingen barnnorm.", age))
    if member.lunch_at_home and age <= 6:
        return (_not_counted(member, f"{band_label(band)}, äter lunch hemma", key,
                             "Normen utan lunch är inte modellerad."),
                _out_of_scope(member, "lunch_at_home",
                              f"Ett barn på {age} år äter lunch hemma; normen utan lunch beräknas manuellt.", age))
    return _line(member, band_label(band), key, table.child(band)), None


def common_norm_line(application: Application, table: NormTable) -> NormLine:
    """RULES.md §2: common costs by the number of members (out-of-scope members count too);
    above 7, add (common[7] - common[6]) per extra member."""
    size = len(members_in_household_size(application))
    common = table.common_for(max(size, 1))
    noun = "person" if size == 1 else "personer"
    return NormLine(personnummer=None, label=f"Gemensamma hushållskostnader, {size} {noun}",
                    table_key=common.table_key, amount=common.amount, status=common.status, note=common.note)


def norm_lines(application: Application, table: NormTable) -> tuple[list[NormLine], list[Finding]]:
    """RULES.md §2: every member's line in the household's order, then the common costs."""
    adults = {line.personnummer: line for line in adult_norm_lines(application, table)}
    lines: list[NormLine] = []
    findings: list[Finding] = []
    for member in application.members:
        if member.personnummer in adults:
            lines.append(adults.pop(member.personnummer))
            continue
        line, out_of_scope = personal_norm_line(member, application, table)
        lines.append(line)
        if out_of_scope:
            findings.append(out_of_scope)
    lines.append(common_norm_line(application, table))
    return lines, findings


def _values_behind(line: NormLine, table: NormTable) -> list[tuple[str, NormValue]]:
    """The table values a counted norm line is built from, by key (common.7+ rests on common.7 and common.6)."""
    if line.status == "not_counted" or not line.table_key:
        return []
    group, _, key = line.table_key.partition(".")
    if group == "adults":
        return [(line.table_key, table.adults[key])]
    if group == "children":
        return [(line.table_key, table.child(key))]
    if key == "7+":
        return [("common.7", table.common[7]), ("common.6", table.common[6])]
    return [(line.table_key, table.common[int(key)])]


def unverified_norm_values(lines: list[NormLine], table: NormTable) -> dict[str, NormValue]:
    """Every `derived` table value this household's norm is built from, by table key, in line order."""
    unverified: dict[str, NormValue] = {}
    for line in lines:
        for key, value in _values_behind(line, table):
            if value.status != "official":
                unverified.setdefault(key, value)
    return unverified


def norm_unverified_findings(lines: list[NormLine], table: NormTable, mode: Mode) -> list[Finding]:
    """RULES.md §2, §5: NORM_UNVERIFIED when any value the norm is built from is not `official`
    (the adults' value, each child's band, the common costs for the size, and common[7] and
    common[6] above 7 members); blocking in automated mode, informational in support mode."""
    unverified = unverified_norm_values(lines, table)
    if not unverified:
        return []
    values = ", ".join(f"{key} {kr(value.amount)}" for key, value in unverified.items())
    count = len(unverified)
    what = "är härlett" if count == 1 else "är härledda"
    message = (f"Normen för {table.year} bygger på {count} belopp som {what} och inte kontrollerade mot "
               f"den publicerade tabellen (SFS): {values}. Kontrollera beloppen innan beslut.")
    return [finding("NORM_UNVERIFIED", message, Register.NORM, blocking=mode is Mode.AUTOMATED,
                    norm_year=table.year, values=values, mode=mode.value)]
