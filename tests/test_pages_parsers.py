"""The pure page parsers on saved HTML, without a browser: the same functions both read strategies use."""

from __future__ import annotations

import pytest

from bistand.core.errors import ApplicationError, BusinessError
from bistand.core.models import IncomeType
from bistand.core.personnummer import Personnummer
from bistand.pages.af import parse_af_status
from bistand.pages.akassa import parse_akassa_notices
from bistand.pages.base import parse_html, parse_search_form, read_definitions, read_table
from bistand.pages.casemgmt import parse_case_page
from bistand.pages.csn import parse_csn_payments
from bistand.pages.eservice import parse_inbox, parse_messages
from bistand.pages.fk import parse_fk_payments
from bistand.pages.pm import parse_pm_payments
from bistand.pages.skv import parse_agi

PNR = Personnummer("19881008-5822")

FK_PAGE = """<html><body><h1>Anna Nilsson</h1>
<table><caption>Utbetalningar</caption>
<thead><tr><th>Förmån</th><th>Avser period</th><th>Belopp</th><th>Utbetalningsdag</th></tr></thead>
<tbody>
<tr><td data-type="barnbidrag">Barnbidrag</td><td>2026-12</td><td>1&nbsp;250 kr</td><td>2026-12-20</td></tr>
<tr><td data-type="bostadsbidrag">Bostadsbidrag</td><td>2026-11</td><td>2 100 kr</td><td></td></tr>
</tbody></table>
<nav aria-label="Sidor"><a href="/utbetalningar?personnummer=X&amp;sida=2">Nästa sida</a></nav>
</body></html>"""


def test_fk_rows_become_payments_by_header_text_and_the_next_page_link_is_found():
    shown = parse_fk_payments(FK_PAGE, PNR)
    assert [(p.type, p.period, p.amount) for p in shown.payments] == [
        (IncomeType.BARNBIDRAG, "2026-12", 1250), (IncomeType.BOSTADSBIDRAG, "2026-11", 2100)]
    assert shown.payments[1].paid_on is None
    assert shown.next_href == "/utbetalningar?personnummer=X&sida=2"


def test_columns_in_another_order_read_the_same():
    swapped = FK_PAGE.replace("<th>Belopp</th><th>Utbetalningsdag</th>", "<th>Utbetalningsdag</th><th>Belopp</th>")
    swapped = swapped.replace("<td>1&nbsp;250 kr</td><td>2026-12-20</td>", "<td>2026-12-20</td><td>1&nbsp;250 kr</td>")
    swapped = swapped.replace("<td>2 100 kr</td><td></td>", "<td></td><td>2 100 kr</td>")
    assert parse_fk_payments(swapped, PNR).payments == parse_fk_payments(FK_PAGE, PNR).payments


def test_a_missing_column_is_a_changed_page_without_personal_data():
    with pytest.raises(ApplicationError) as raised:
        parse_fk_payments(FK_PAGE.replace("<th>Belopp</th>", "<th>Summa</th>"), PNR)
    assert raised.value.code == "PAGE_CHANGED" and "Belopp" in raised.value.message
    assert "5822" not in str(raised.value)


def test_no_payments_text_is_an_empty_answer():
    assert parse_fk_payments("<html><body><h1>Inga utbetalningar hittades</h1></body></html>", PNR).payments == []
    assert parse_akassa_notices("<html><body><h1>Inga utbetalningar hittades</h1></body></html>", PNR) == []


def test_csn_sections_by_heading_and_the_older_link():
    html = """<html><body>
    <section aria-labelledby="l1"><h2 id="l1">Utbetalningar läsåret 2026/27</h2>
    <dl><dt>Utbetalningsdag</dt><dd>–</dd><dt>Period</dt><dd>2026-12-01 – 2026-12-31</dd>
        <dt>Stödform</dt><dd>Studiemedel</dd><dt>Belopp</dt><dd>3&nbsp;564 kr</dd></dl></section>
    <p><a href="/kund/utbetalningar?pnr=X&amp;visa=alla">Visa äldre utbetalningar</a></p></body></html>"""
    shown = parse_csn_payments(html, PNR)
    [payment] = shown.years["Utbetalningar läsåret 2026/27"]
    assert (payment.period, payment.amount, payment.paid_on) == ("2026-12", 3564, None)
    assert shown.older_href.endswith("visa=alla")


def test_pm_reads_the_shown_year_and_links_to_the_others():
    html = """<html><body><nav aria-label="Välj år"><strong>2026</strong><a href="/h?ar=2025">2025</a></nav>
    <table><caption>Utbetalningar 2026</caption><thead><tr><th>Månad</th><th>Förmån</th><th>Belopp före skatt</th>
    <th>Utbetalt belopp</th><th>Utbetalningsdag</th></tr></thead><tbody>
    <tr><td>december 2026</td><td>Allmän pension</td><td>8 000 kr</td><td>6 860 kr</td><td>2026-12-18</td></tr>
    </tbody><tfoot><tr><th colspan="2">Summa</th><td>8 000 kr</td><td>6 860 kr</td><td></td></tr></tfoot></table>
    </body></html>"""
    shown = parse_pm_payments(html, PNR)
    assert shown.year == "2026" and shown.year_links == {"2025": "/h?ar=2025"}
    assert [(p.type, p.period, p.amount) for p in shown.payments] == [(IncomeType.PENSION, "2026-12", 6860)]


def test_akassa_counts_the_net_row_of_each_notice():
    html = """<html><body><article aria-labelledby="b1"><h2 id="b1">Utbetalningsbesked 1 av 1</h2>
    <p>Ersättningsperiod: <span>2026-12-01 – 2026-12-31</span> | Utbetalningsdag: <span>2026-12-22</span></p>
    <table><tbody><tr><td>Summa brutto</td><td>22</td><td></td><td>15 000</td></tr>
    <tr><td>Utbetalt netto</td><td></td><td></td><td>11 250</td></tr></tbody></table></article></body></html>"""
    [payment] = parse_akassa_notices(html, PNR)
    assert (payment.type, payment.period, payment.amount) == (IncomeType.AKASSA_ERSATTNING, "2026-12", 11250)


def test_af_facts_table_without_tbody_and_a_rejected_number():
    html = """<html><body><h1>Inskrivningsstatus</h1><table aria-label="Inskrivningsuppgifter">
    <tr><th>Inskriven som arbetssökande</th><td>Ja</td></tr><tr><th>Inskriven sedan</th><td>2025-03-01</td></tr>
    <tr><th>Sökandekategori</th><td>11 Öppet arbetslös</td></tr><tr><th>Senaste aktivitetsrapport</th><td>–</td></tr>
    </table></body></html>"""
    status = parse_af_status(html, PNR)
    assert status.registered and status.category == "11" and status.last_activity_report is None
    with pytest.raises(BusinessError):
        parse_af_status("<html><body><h1>Ogiltigt personnummer</h1></body></html>", PNR)


def test_agi_keeps_only_the_period_and_reads_the_page_count():
    html = """<html><body><h1>Arbetsgivardeklarationer (AGI)</h1>
    <table><caption>Redovisade löner och avdragen skatt</caption>
    <thead><tr><th>Redovisningsperiod</th><th>Arbetsgivare</th><th>Bruttolön</th><th>Avdragen skatt</th></tr></thead>
    <tbody><tr><td>2026-12</td><td>Bygg AB</td><td>10 000 kr</td><td>2 500 kr</td></tr>
    <tr><td>2026-11</td><td>Bygg AB</td><td>9 000 kr</td><td>2 250 kr</td></tr></tbody></table>
    <nav aria-label="Sidor"><span>Sida 1 av 3</span></nav></body></html>"""
    shown = parse_agi(html, PNR, "2026-12")
    assert [(d.employer, d.gross, d.tax) for d in shown.declarations] == [("Bygg AB", 10000, 2500)]
    assert shown.periods == ["2026-12", "2026-11"] and shown.page_count == 3


def test_inbox_rows_skip_the_placeholder_and_find_the_counter():
    html = """<html><body><form method="get" action="/inbox"><label for="status">Status</label>
    <select id="status" name="status"><option value="">Alla</option><option value="ny">Ny</option></select></form>
    <table><caption>Ansökningar</caption><thead><tr><th>Ärende-id</th><th>Ärendenummer</th><th>Inkommen</th>
    <th>Period</th><th>Status</th></tr></thead><tbody>
    <tr data-application-id="ANS-1"><td><a href="/inbox/ANS-1">ANS-1</a></td><td>EB-1</td>
    <td><time datetime="2026-11-20T10:00:00">20 nov</time></td><td>2026-12</td><td>Ny</td></tr>
    </tbody></table><div role="navigation" aria-label="Sidor"><span>Sida 1 av 1</span></div></body></html>"""
    inbox = parse_inbox(html)
    assert [(r.application_id, r.case_number, r.period, r.status) for r in inbox.rows] == [
        ("ANS-1", "EB-1", "2026-12", "Ny")]
    assert inbox.counter == "Sida 1 av 1" and inbox.next_href is None
    assert inbox.status_values == {"Alla": "", "Ny": "ny"}


def test_a_message_with_markup_is_text():
    html = """<html><body><table><caption>Skickade meddelanden</caption><thead><tr><th>Tid</th><th>Från</th>
    <th>Meddelande</th></tr></thead><tbody><tr data-sender="sokande"><td><time datetime="2026-11-20T10:00:00">x</time>
    </td><td>Sökande</td><td>&lt;script&gt;alert(1)&lt;/script&gt;</td></tr></tbody></table></body></html>"""
    [message] = parse_messages(html)
    assert message.text == "<script>alert(1)</script>" and message.sender == "sokande"


def test_case_page_not_found_is_a_business_error():
    html = "<html><body><h1>Ärendet finns inte</h1><p>Inget ärende hittades med ärendenummer EB-9.</p></body></html>"
    with pytest.raises(BusinessError) as raised:
        parse_case_page(html, "EB-9")
    assert raised.value.code == "CASE_NOT_FOUND"


def test_search_form_is_found_by_its_label():
    html = """<html><body><form method="post" action="/sok"><label for="p">Personnummer</label>
    <input id="p" name="personnummer"><button>Sök</button></form></body></html>"""
    form = parse_search_form(html, "http://127.0.0.1:8406/", "Personnummer", "akassa")
    assert (form.method, form.action, form.field) == ("post", "http://127.0.0.1:8406/sok", "personnummer")


def test_table_and_definition_readers_key_by_visible_text():
    root = parse_html("""<html><body><dl><dt> Saldo på bankkonto </dt><dd data-value="10">10 kr</dd></dl>
    <table><thead><tr><th>A</th><th>B</th></tr></thead><tbody><tr><td colspan="2">Inga.</td></tr>
    <tr><td>1</td><td>2</td></tr></tbody></table></body></html>""")
    facts = read_definitions(root)
    assert facts["Saldo på bankkonto"].text == "10 kr" and facts["Saldo på bankkonto"].data == {"value": "10"}
    table = read_table(root.find(".//table"), ("A", "B"), "test")
    assert [row["B"].text for row in table.rows] == ["2"] and table.ragged == 1
