"""Generate a demo world: the shared example world plus synthetic households (Faker sv_SE).

`python -m simulators.worldgen --base ../shared/contracts/world-example.json --households 48
--seed 2026 --out devdata/worlds/demo.json`

Every person is synthetic, with a valid personnummer check digit. The added households are
mostly standard re-applications (single adults, couples, families with children of every age
band, salaries with job stimulus, DOCX invoices, costs above the frame's cap), with a sprinkling
of the cases that need a caseworker (undeclared income, scanned invoice, no frame). Now and then
(`--duplicates`, a share of the added households) a household files twice for the same month, or
its case already has a decision for the month (RULES.md §5, DUPLICATE_PERIOD).
"""

from __future__ import annotations

import argparse
import copy
import json
import random
from datetime import date, datetime, timedelta
from pathlib import Path

from faker import Faker

from simulators.world import validate_world


def luhn_digit(nine: str) -> int:
    total = 0
    for index, char in enumerate(nine):
        product = int(char) * (2 if index % 2 == 0 else 1)
        total += product - 9 if product > 9 else product
    return (10 - total % 10) % 10


def make_pnr(rng: random.Random, born: date, used: set[str], female: bool | None = None) -> str:
    while True:
        serial = rng.randint(0, 99)
        gender = rng.randrange(0, 10, 2) if female else rng.randrange(1, 10, 2)
        nine = f"{born:%y%m%d}{serial:02d}{gender}"
        pnr = f"{born:%Y%m%d}-{serial:02d}{gender}{luhn_digit(nine)}"
        if pnr not in used:
            used.add(pnr)
            return pnr


def birth_for_age(rng: random.Random, age: int, on: date) -> date:
    start = date(on.year - age - 1, on.month, on.day) + timedelta(days=1)
    return start + timedelta(days=rng.randint(0, 364))


PREVIOUS_PERIODS = ["2026-11", "2026-10", "2026-09", "2026-08", "2026-07", "2026-06"]
SCENARIOS = [
    "single", "single", "single_salary", "family", "family_docx", "couple", "couple_salary",
    "single_capped", "family_big", "single_youth_school", "single_akassa", "single_scanned",
    "single_undeclared", "single_no_frame", "single_pension",
]


DUPLICATE_SHARE = 0.08
"""The share of added households with a second application or an earlier decision for the month."""


def generate(base: dict, households: int, seed: int, duplicates: float = DUPLICATE_SHARE) -> dict:
    rng = random.Random(seed)
    fake = Faker("sv_SE")
    fake.seed_instance(seed)
    world = copy.deepcopy(base)
    used = {m["personnummer"] for h in world["households"] for m in h["members"]}
    used |= {p["personnummer"] for p in world["registers"]["skv"]["population"]}
    period_start = date(2026, 12, 1)
    municipality = world["municipality"]
    next_case = len(world["households"]) + 1
    next_app = len(world["applications"]) + 1
    first_added = len(world["households"])
    registers = world["registers"]
    registers.setdefault("fk", [])
    registers.setdefault("pm", [])
    registers.setdefault("csn", [])
    registers.setdefault("akassa", [])
    registers.setdefault("af", [])
    skv = registers.setdefault("skv", {"population": [], "employer_declarations": []})

    while len(world["households"]) < households:
        scenario = SCENARIOS[(next_case - 1) % len(SCENARIOS)]
        case_number = f"EB-2026-{next_case:04d}"
        app_id = f"ANS-2026-{next_app:06d}"
        last_name = fake.last_name()
        address = {
            "street": f"{fake.street_name()} {rng.randint(1, 120)}",
            "postal_code": f"{rng.randint(10000, 98999)}",
            "city": municipality,
            "municipality": municipality,
        }

        def person(role: str, age: int, last_name: str = last_name, **flags) -> dict:
            female = rng.random() < 0.5
            first = fake.first_name_female() if female else fake.first_name_male()
            member = {
                "personnummer": make_pnr(rng, birth_for_age(rng, age, period_start), used, female),
                "first_name": first, "last_name": last_name, "role": role,
            }
            member.update(flags)
            return member

        members = [person("applicant", rng.randint(22, 63))]
        if scenario in {"couple", "couple_salary", "family_big"}:
            members.append(person("partner", rng.randint(22, 63)))
        if scenario in {"family", "family_docx"}:
            for age in rng.sample([0, 2, 3, 5, 8, 12, 16], k=rng.randint(1, 3)):
                members.append(person("child", age))
        if scenario == "family_big":
            for age in (1, 4, 7, 10, 13, 17):
                members.append(person("child", age))
        if scenario == "single_youth_school":
            members.append(person("child", 19, in_school=True))

        rent = rng.randrange(5200, 9800, 100)
        cap = rent + (0 if scenario != "single_capped" else -600)
        el = rng.choice([250, 300, 350, 400])
        insurance = rng.choice([120, 150, 180])
        frame = {
            "valid_from": "2026-07-01", "valid_to": "2027-06-30",
            "costs": {"hyra": cap, "hushallsel": 400, "hemforsakring": 200},
            "expected_incomes": [], "conditions": [], "caseworker_note": "Syntetisk referensram.",
        }
        previous = [
            {"period": p, "decision": "approve", "amount": rng.randint(3000, 15000)}
            for p in PREVIOUS_PERIODS
        ]
        fmt = "docx" if scenario == "family_docx" else "pdf"
        if scenario == "single_scanned":
            fmt = "pdf_scanned"
        application = {
            "application_id": app_id, "case_number": case_number, "period": "2026-12",
            "kind": "reapplication",
            "submitted_at": (
                f"2026-11-{rng.randint(15, 23):02d}T{rng.randint(7, 21):02d}:{rng.randint(0, 59):02d}:00+01:00"
            ),
            "declared_incomes": [],
            "declared_costs": [
                {"type": "hyra", "amount": rent},
                {"type": "hushallsel", "amount": el},
                {"type": "hemforsakring", "amount": insurance},
            ],
            "attachments": [
                {"filename": f"hyra-0.{'pdf' if fmt != 'docx' else 'docx'}", "cost_type": "hyra",
                 "format": fmt, "amount": rent},
                {"filename": "hushallsel-1.pdf", "cost_type": "hushallsel", "format": "pdf", "amount": el},
            ],
        }
        applicant = members[0]["personnummer"]
        if scenario in {"single_salary", "couple_salary"}:
            gross = rng.randrange(6000, 18000, 100)
            tax = gross * 22 // 100
            skv["employer_declarations"].append({
                "personnummer": applicant, "period": "2026-12", "employer": fake.company(),
                "gross": gross, "tax": tax,
            })
            application["declared_incomes"].append({"personnummer": applicant, "type": "lon", "amount": gross - tax})
        if scenario in {"family", "family_docx", "family_big"}:
            children = sum(1 for m in members if m["role"] == "child")
            amount = 1250 * children
            registers["fk"].append({"personnummer": applicant, "type": "barnbidrag", "period": "2026-12",
                                    "amount": amount, "paid_on": "2026-12-20"})
            application["declared_incomes"].append({"personnummer": applicant, "type": "barnbidrag", "amount": amount})
            frame["expected_incomes"].append({"personnummer": applicant, "type": "barnbidrag", "amount": amount})
        if scenario == "single_akassa":
            net = rng.randrange(4000, 9000, 10)
            registers["akassa"].append({"personnummer": applicant, "type": "akassa_ersattning",
                                        "period": "2026-12", "amount": net, "paid_on": "2026-12-18"})
            application["declared_incomes"].append({"personnummer": applicant, "type": "akassa_ersattning",
                                                    "amount": net})
            registers["af"].append({"personnummer": applicant, "registered": True,
                                    "registered_since": "2025-09-01", "category": "11"})
            frame["conditions"].append({"code": "AF_REGISTERED", "personnummer": applicant})
        if scenario == "single_undeclared":
            registers["fk"].append({"personnummer": applicant, "type": "sjukpenning", "period": "2026-12",
                                    "amount": rng.randrange(2000, 6000, 10), "paid_on": "2026-12-22"})
        if scenario == "single_pension":
            pension = rng.randrange(3000, 7000, 10)
            registers["pm"].append({"personnummer": applicant, "type": "pension", "period": "2026-12",
                                    "amount": pension, "paid_on": "2026-12-18"})
            application["declared_incomes"].append({"personnummer": applicant, "type": "pension", "amount": pension})
        if scenario == "single_youth_school":
            application["message"] = "Min son går sista året på gymnasiet. Tack för hjälpen!"

        for member in members:
            skv["population"].append({
                "personnummer": member["personnummer"], "first_name": member["first_name"],
                "last_name": member["last_name"], "address": address,
            })
        world["households"].append({
            "case_number": case_number, "members": members, "address": address,
            "previous_decisions": previous,
            "reference_frame": None if scenario == "single_no_frame" else frame,
        })
        world["applications"].append(application)
        next_case += 1
        next_app += 1
    # Drawn from a stream of its own, so the households above stay the same whatever the share.
    add_duplicate_periods(world, world["households"][first_added:], random.Random(seed * 7919 + 1), duplicates)
    return validate_world(world)


def add_duplicate_periods(world: dict, households: list[dict], rng: random.Random, share: float) -> None:
    """A share of these households file a second application for the month (a day later, the same
    declaration), or have a decision for the month already: the cases DUPLICATE_PERIOD is for."""
    chosen = [h for h in households if rng.random() < share]
    applications = {a["case_number"]: a for a in world["applications"]}
    next_app = len(world["applications"]) + 1
    year = applications[households[0]["case_number"]]["period"][:4] if households else ""
    for household in chosen:
        first = applications[household["case_number"]]
        if rng.random() < 0.5:
            submitted = datetime.fromisoformat(first["submitted_at"]) + timedelta(days=1, minutes=rng.randint(1, 300))
            world["applications"].append({**copy.deepcopy(first), "application_id": f"ANS-{year}-{next_app:06d}",
                                          "submitted_at": submitted.isoformat()})
            next_app += 1
        else:
            household["previous_decisions"].insert(0, {"period": first["period"], "decision": "approve",
                                                       "amount": rng.randint(3000, 15000)})


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m simulators.worldgen", description=__doc__.splitlines()[0])
    parser.add_argument("--base", default=str(Path(__file__).resolve().parent.parent / "devdata/worlds/example.json"))
    parser.add_argument("--households", type=int, default=48)
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--duplicates", type=float, default=DUPLICATE_SHARE,
                        help="share of the added households that file twice for the month or already have a "
                             "decision for it (default %(default)s)")
    parser.add_argument("--out", default="devdata/worlds/demo.json")
    args = parser.parse_args(argv)
    base = json.loads(Path(args.base).read_text(encoding="utf-8"))
    world = generate(base, args.households, args.seed, args.duplicates)
    Path(args.out).write_text(json.dumps(world, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    print(f"wrote {args.out}: {len(world['households'])} households, {len(world['applications'])} applications")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
