"""The case page shows the pasted report in full and offers no second basis for an application."""

from __future__ import annotations

import re

from tests.test_sim_casemgmt import APPLICATION, CASE, logged_in, save_basis


def applications_row(html: str, application_id: str) -> str:
    table = re.search(r'<table class="grid" id="ansokningar">.*?</table>', html, re.S).group(0)
    return next(row for row in re.findall(r"<tr>.*?</tr>", table, re.S) if application_id in row)


def test_an_application_with_a_basis_shows_underlag_finns_instead_of_skriv_underlag(fresh_simulators):
    with logged_in(fresh_simulators) as client:
        before = client.get(f"/arende/{CASE}").text
        assert "Skriv underlag" in applications_row(before, APPLICATION)
        assert "Nytt beslutsunderlag" in before

        assert save_basis(client, CASE).status_code == 303
        after = client.get(f"/arende/{CASE}").text

    row = applications_row(after, APPLICATION)
    assert "Skriv underlag" not in row
    assert re.search(rf'Underlag finns: <a href="/arende/{CASE}/beslutsunderlag/(\d+)">nr \1</a>', row)
    assert "Nytt beslutsunderlag" not in after  # the case's only application has its basis
    assert "Underlag finns (nr" in after


def test_the_pasted_report_is_shown_whole_in_a_growing_box(fresh_simulators):
    report = "\n".join(f"Rad {n}: riksnorm 12 345 kr och ett långt ord utan mellanslag" for n in range(200))
    with logged_in(fresh_simulators) as client:
        assert save_basis(client, CASE, underlag=report).status_code == 303
        html = client.get(f"/arende/{CASE}").text
        css = client.get("/static/style.css").text

    assert "<details" not in html  # nothing to click open
    shown = re.search(r"<pre>(.*?)</pre>", html, re.S).group(1)
    assert shown == report
    pre_rule = re.search(r"pre, pre\.report \{([^}]*)\}", css).group(1)
    assert "max-height" not in pre_rule and "overflow: auto" not in pre_rule
    assert "pre-wrap" in pre_rule
