"""The decision notice the applicant reads in the e-service: plain Swedish, right amounts, right
number, and how to appeal. Snapshots of approve, reject and caseworker-will-decide catch any change
of wording (rewrite them with BISTAND_UPDATE_SNAPSHOTS=1 and review the diff)."""

from __future__ import annotations

import pytest

from bistand.core.models import Mode, Proposal
from bistand.report.notice import already_sent, first_line, period_words, render_notice
from tests.report_cases import assessed, automated_decision, fresh, household_of, with_sources
from tests.test_report_snapshots import check_snapshot


def approved():
    return assessed(automated_decision(), Mode.AUTOMATED)[1]


def rejected():
    """A salary that covers norm and rent: the robot rejects."""
    bundle = with_sources(fresh().with_rent(5000).declaring("applicant", "lon", 20000)
                          .salary_in_register("applicant", gross=26000, tax=6000).build())
    return assessed(bundle, Mode.AUTOMATED)[1]


def for_caseworker():
    """A first application: blocking in automated mode, so a caseworker decides."""
    bundle = with_sources(fresh().with_rent(6200).first_application().build())
    return assessed(bundle, Mode.AUTOMATED)[1]


CASES = {
    "notice-approve": lambda: render_notice(approved(), True, "Älmhult"),
    "notice-reject": lambda: render_notice(rejected(), True, "Älmhult"),
    "notice-caseworker": lambda: render_notice(for_caseworker(), False, "Älmhult"),
}


@pytest.mark.parametrize("case", CASES)
def test_the_notice_matches_its_snapshot(case):
    check_snapshot(f"{case}.txt", CASES[case]())


def test_the_snapshot_cases_are_what_their_names_say():
    assert approved().proposal is Proposal.APPROVE and not approved().blocking_findings
    assert rejected().proposal is Proposal.REJECT and not rejected().blocking_findings
    assert for_caseworker().proposal is Proposal.MANUAL_REVIEW


def test_an_approval_gives_the_amount_the_calculation_and_the_appeal():
    assessment = approved()
    text = render_notice(assessment, True, "Älmhult")
    amount = f"{assessment.amount:,}".replace(",", " ") + " kr"
    assert assessment.amount > 1000
    assert f"är beviljad. Du får {amount}." in text
    assert "december 2026" in text and assessment.application_id in text
    assert f"Riksnorm {assessment.norm_year} för 1 person: " in text
    assert "Godkända kostnader: " + f"{assessment.costs_total:,}".replace(",", " ") + " kr (hyra " in text
    assert "fattat automatiskt av socialnämnden i Älmhult enligt nämndens delegationsordning" in text
    assert "överklaga det till förvaltningsrätten" in text
    assert "Skicka överklagandet till socialnämnden i Älmhult" in text
    assert "inom tre veckor från den dag du fick del av beslutet" in text


def test_a_rejection_says_why_and_how_to_appeal_but_promises_no_money():
    text = render_notice(rejected(), True, "Älmhult")
    assert "är avslagen" in text and "Du får " + "inget bistånd" in text
    assert "beviljad" not in text and "som du får:" not in text
    assert "Inkomster som räknas: " in text and "(lön 20 000 kr)" in text
    assert "förvaltningsrätten" in text


def test_when_a_caseworker_decides_the_notice_says_so_and_holds_no_amount():
    assessment = for_caseworker()
    text = render_notice(assessment, False, "Älmhult")
    assert "En handläggare på socialtjänsten i Älmhult" in text and "fattar beslutet" in text
    assert " kr" not in text and "beviljad" not in text and "avslagen" not in text
    assert "delegationsordning" not in text


def test_the_household_is_counted_with_the_right_number():
    family = assessed(household_of(2), Mode.AUTOMATED)[1]
    decided = family.model_copy(update={"proposal": Proposal.APPROVE})
    assert "för 4 personer:" in render_notice(decided, True, "Älmhult")
    assert "för 1 person:" in render_notice(approved(), True, "Älmhult")


def test_the_robot_never_sends_a_decision_it_cannot_make():
    with pytest.raises(ValueError):
        render_notice(for_caseworker(), True, "Älmhult")


def test_a_notice_already_on_the_application_is_recognised_by_its_heading():
    assessment = approved()
    text = render_notice(assessment, True, "Älmhult")
    assert already_sent(["Hej, vi har fått din ansökan.", text], assessment.application_id, assessment.period, True)
    assert not already_sent(["Hej, vi har fått din ansökan."], assessment.application_id, assessment.period, True)
    assert not already_sent([text], assessment.application_id, assessment.period, False)
    assert text.splitlines()[0] == first_line(assessment.application_id, assessment.period, True)


def test_periods_read_as_words():
    assert period_words("2026-12") == "december 2026" and period_words("2027-01") == "januari 2027"


def test_the_notice_has_no_control_characters_or_trailing_blanks():
    for render in CASES.values():
        text = render()
        assert all(line == line.rstrip() for line in text.split("\n"))
        assert not any(ord(ch) < 32 and ch != "\n" for ch in text)
        assert "\n\n\n" not in text


class EServiceShowing:
    """The e-service as the write-back sees it: the messages already on the application."""

    def __init__(self, *texts: str) -> None:
        from datetime import UTC, datetime

        from bistand.pages.eservice import SentMessage

        self.shown = [SentMessage(sent_at=datetime(2026, 11, 23, tzinfo=UTC), sender="handlaggare", text=t)
                      for t in texts]
        self.sent: list[str] = []

    async def messages(self, application_id: str):
        return list(self.shown)

    async def municipality_name(self) -> str:
        return "Älmhult"

    async def send_message(self, application_id: str, text: str) -> None:
        from datetime import UTC, datetime

        from bistand.pages.eservice import SentMessage

        self.sent.append(text)
        self.shown.append(SentMessage(sent_at=datetime(2026, 11, 23, tzinfo=UTC), sender="handlaggare", text=text))


def test_the_notice_is_sent_once_however_often_the_write_back_runs():
    import asyncio

    from bistand.bot.casework import tell_applicant

    assessment = approved()
    eservice = EServiceShowing("Hej! Vi har fått dina underlag.")
    sent = [asyncio.run(tell_applicant(eservice, assessment.application_id, assessment, decided=True))
            for _ in range(3)]
    assert sent == [True, False, False]
    assert eservice.sent == [render_notice(assessment, True, "Älmhult")]


def test_a_caseworker_notice_already_sent_does_not_stop_the_decision_notice():
    import asyncio

    from bistand.bot.casework import tell_applicant

    assessment = approved()
    eservice = EServiceShowing(render_notice(assessment, False, "Älmhult"))
    assert asyncio.run(tell_applicant(eservice, assessment.application_id, assessment, decided=True))
    assert asyncio.run(tell_applicant(eservice, assessment.application_id, assessment, decided=False)) is False
