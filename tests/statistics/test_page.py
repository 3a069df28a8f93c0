"""The statistics page, its drill-down lists and its downloads over the known half-year
(tests/statistics/conftest.py): the page shows the figures the module computes, each count
links to exactly the records it counts, each table downloads as a workbook of the same numbers,
and bad input answers a clear 400 that changes nothing."""

from __future__ import annotations

import io
import json
import re
from decimal import Decimal
from urllib.parse import parse_qs, urlsplit

import pytest
from openpyxl import load_workbook

from supervise.statistics import figures as F
from supervise.statistics.figures import StatisticsQuery
from tests.conftest import page_text
from tests.helpers import events

pytestmark = pytest.mark.usefixtures("district", "frozen")

Y2026 = StatisticsQuery.for_year(2026)
SECTIONS = ("referrals", "rectifications", "findings", "trends")


def signed_in(client, username="audit.leader"):
    assert client.sign_in(username).status_code == 302
    return client


def links(html: str) -> list[str]:
    found = re.findall(r'href="(/statistics/records\?[^"]+)"', html)
    return [href.replace("&amp;", "&") for href in found]


def test_a_leader_reads_every_section(client, world):
    signed_in(client)
    for section in SECTIONS:
        response = client.get(f"/statistics?section={section}&year=2026")
        assert response.status_code == 200, section
    text = page_text(client.get("/statistics?year=2026"))
    assert "统计分析 · 2026年" in text
    # The acknowledgement on-time rate of what the bureau sent: 7 of 9.
    assert "77.8%" in text
    assert "本单位接收" in text


def test_every_count_links_to_exactly_the_records_it_counts(client, world):
    """A figure's number on the page is the length of the list it links to."""
    signed_in(client)
    seen = 0
    for section in SECTIONS:
        html = client.get(f"/statistics?section={section}&year=2026").get_data(as_text=True)
        for href in links(html):
            shown = re.search(re.escape(href.replace("&", "&amp;")) + r'">([\d,]+)</a>', html)
            listed = client.get(href)
            assert listed.status_code == 200, href
            total = re.search(r"共(\d+)条", page_text(listed))
            assert total and int(total.group(1)) == int(shown.group(1).replace(",", "")), href
            seen += 1
    assert seen > 40


def test_the_drill_down_is_the_module_s_records(client, world):
    signed_in(client, "audit.staff")
    for figure in ("ack_late", "answer_overdue", "open_91_180"):
        expected = F.count_records(world.audit_staff, F.REFERRALS_SENT, figure, Y2026)
        text = page_text(client.get(
            f"/statistics/records?subject=referrals_sent&figure={figure}&year=2026"))
        assert f"共{expected}条" in text, figure


def test_a_table_downloads_with_the_numbers_of_the_page(client, world):
    signed_in(client)
    response = client.get("/statistics/download/rectification_overview?year=2026")
    assert response.status_code == 200
    assert response.mimetype.endswith("spreadsheetml.sheet")
    sheet = load_workbook(io.BytesIO(response.data)).active
    response.close()
    headers = [c.value for c in sheet[2]]
    row = dict(zip(headers, [c.value for c in sheet[3]], strict=True))
    figures = F.rectification_figures(world.audit_leader, Y2026)
    assert row["下达整改"] == figures.counts["issued"]
    assert row["已销号"] == figures.counts["signed_off"]
    assert Decimal(str(row["整改率"])) == figures.rate.value
    assert Decimal(str(row["涉及金额"])) == figures.amount_involved
    assert sheet["A1"].value.startswith("区审计局整改")
    assert sheet.cell(3, headers.index("整改率") + 1).number_format == "0.0%"
    [export] = events("ledger.export")
    assert export.object_type == "statistics" and export.object_id == "rectification_overview"
    assert json.loads(export.details)["filter"] == {"year": "2026"}


def test_the_year_s_figures_page_and_workbook(client, world):
    signed_in(client)
    text = page_text(client.get("/statistics/annual?year=2026"))
    annual = F.annual_figures(world.audit_leader, 2026)
    assert "2026年度数据" in text
    assert f"{annual.rectification_rate.percent}%" in text
    response = client.get("/statistics/download/annual?year=2026")
    sheet = load_workbook(io.BytesIO(response.data)).active
    response.close()
    values = {sheet.cell(r, 1).value: sheet.cell(r, 2).value for r in range(3, sheet.max_row)}
    assert values["发现问题"] == f"{annual.findings:,}"
    assert values["整改率"] == f"{annual.rectification_rate.percent}%"


def test_a_rate_with_nothing_to_count_is_a_dash(client, world):
    signed_in(client)
    text = page_text(client.get("/statistics?year=2024"))
    assert "—" in text and "0.0%" not in text


@pytest.mark.parametrize("query", [
    "year=20x6", "year=1900", "quarter=5&year=2026", "start=2026-02-30&end=2026-03-01",
    "start=2026-05-01&end=2026-04-01", "unit=nowhere", "category=%ED%A0%80", "section=secret",
    "start=2000-01-01&end=2099-01-01", "year=2026&start=2026-01-01&end=2026-02-01",
])
def test_bad_input_is_a_clear_400(client, world, query):
    signed_in(client)
    response = client.get(f"/statistics?{query}")
    assert response.status_code == 400
    assert 'class="flash flash-error"' in response.get_data(as_text=True)


@pytest.mark.parametrize("path", [
    "/statistics/records?subject=referrals_sent&figure=nothing&year=2026",
    "/statistics/records?subject=persons&figure=sent&year=2026",
    "/statistics/records?subject=referrals_sent&figure=kind:secret&year=2026",
    "/statistics/records",
])
def test_an_unknown_figure_is_a_clear_422(client, world, path):
    signed_in(client)
    response = client.get(path)
    assert response.status_code == 422
    assert "此指标不存在" in page_text(response)


@pytest.mark.parametrize("path", [
    "/statistics/download/persons?year=2026",
    "/statistics/download/referrals_nothing?year=2026",
])
def test_an_unknown_table_is_404(client, world, path):
    signed_in(client)
    assert client.get(path).status_code == 404


def test_a_bad_period_for_a_list_or_download_is_400(client, world):
    signed_in(client)
    response = client.get("/statistics/records?subject=findings&figure=recorded&year=x")
    assert response.status_code == 400
    assert "请填写2000至2100之间的年度" in page_text(response)
    assert client.get("/statistics/download/trends?year=x").status_code == 400
    assert events("ledger.export") == []


@pytest.mark.parametrize("username,status", [
    ("unit.contact", 404), ("org.staff", 200), ("insp.staff", 200),
])
def test_who_reads_the_statistics(client, world, username, status):
    signed_in(client, username)
    assert client.get("/statistics").status_code == status


def test_a_non_party_counts_none_of_the_referrals(client, world, district):
    """The inspection office sent one clue (J); the bureau's ten are not in its figures and no
    list of its figures names them."""
    signed_in(client, "insp.staff")
    html = client.get("/statistics?year=2026").get_data(as_text=True)
    bureau = [r.title for r in (district.h, district.a, district.b, district.c2, district.e)]
    for href in links(html):
        listed = page_text(client.get(href))
        assert not [title for title in bureau if title in listed], href
    sent = F.referral_figures(world.insp_staff, Y2026).sent
    assert sent.counts["sent"] == 1


def test_the_page_runs_a_bounded_number_of_statements(client, world, count_queries):
    signed_in(client)
    for section in SECTIONS:
        client.get(f"/statistics?section={section}&year=2026")
        with count_queries() as statements:
            assert client.get(f"/statistics?section={section}&year=2026").status_code == 200
        assert len(statements) <= 25, (section, len(statements))


def test_a_figure_s_link_keeps_the_period_and_filters(client, world):
    signed_in(client)
    html = client.get("/statistics?section=rectifications&year=2026&quarter=1"
                      "&category=allowances").get_data(as_text=True)
    for href in links(html):
        args = parse_qs(urlsplit(href).query)
        assert args["year"] == ["2026"] and args["quarter"] == ["1"]
        assert args["category"] == ["allowances"]


def test_a_unit_s_row_opens_its_dossier(client, world):
    signed_in(client)
    html = client.get("/statistics?section=rectifications&year=2026").get_data(as_text=True)
    assert f'href="/units/{world.edu.code}/dossier"' in html
    assert client.get(f"/units/{world.edu.code}/dossier").status_code == 200


def test_a_downloads_heading_names_its_filters(client, world):
    signed_in(client)
    response = client.get("/statistics/download/rectification_overview?year=2026&unit=health"
                          "&category=other")
    sheet = load_workbook(io.BytesIO(response.data)).active
    response.close()
    heading = " ".join(str(c.value) for c in sheet[1] if c.value)
    assert "被审计单位：区卫健委" in heading and "问题类别：其他" in heading, heading
    assert "health" not in heading and "other" not in heading
