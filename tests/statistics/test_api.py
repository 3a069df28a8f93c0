"""/api/v1/statistics: the figures as JSON, the same filters, refused where case routes are."""

from __future__ import annotations

import pytest

from tests.factories import UserFactory
from tests.support.api import callers


@pytest.fixture
def as_(world):
    return callers(world)


def test_referral_figures_as_json(world, district, frozen, as_):
    response = as_("audit_leader").get("/statistics/referrals", query_string={"year": "2026"})
    assert response.status_code == 200
    body = response.get_json()
    assert body["period"] == {"start": "2026-01-01", "end": "2026-12-31", "label": "2026年",
                              "args": {"year": "2026"}}
    sent = body["sent"]
    assert sent["subject"] == "referrals_sent"
    assert sent["counts"]["sent"] == 10 and sent["counts"]["sendings"] == 11
    assert sent["acknowledge_rate"] == {"numerator": 7, "denominator": 9, "value": 0.7778}
    assert sent["answer_rate"] == {"numerator": 3, "denominator": 7, "value": 0.4286}
    assert sent["to_acknowledge"] == {
        "working_days": {"count": 8, "median": 1.5, "p90": 5.0},
        "calendar_days": {"count": 8, "median": 1.5, "p90": 7.0}}
    assert sent["by_kind"][0] == {"key": "clue", "label": "问题线索", "figure": "kind:clue",
                                  "count": 9}
    assert [row["count"] for row in sent["open_by_age"]] == [1, 1, 2, 1]
    assert sent["chasers_per_item"] == {"numerator": 2, "denominator": 10, "value": 0.2}
    # Nothing received: no rate, not 0.
    assert body["received"]["acknowledge_rate"] == {"numerator": 0, "denominator": 0,
                                                    "value": None}
    assert body["received"]["to_answer"]["working_days"] == {"count": 0, "median": None,
                                                              "p90": None}


def test_rectification_and_finding_figures_as_json(world, district, frozen, as_):
    body = as_("audit_staff").get("/statistics/rectifications").get_json()
    assert body["period"]["args"] == {"year": "2026"}  # the current year by default
    assert body["amount_involved"] == "180000.50"
    assert body["amount_recovered"] == "80000.00"
    assert body["amount_rate"] == {"numerator": "80000.00", "denominator": "180000.50",
                                   "value": 0.4444}
    assert body["rate"] == {"numerator": 2, "denominator": 4, "value": 0.5}
    assert body["by_unit"][0]["filters"] == {"unit": "edu"}
    assert body["to_sign_off"]["working_days"] == {"count": 2, "median": 36.5, "p90": 45.0}
    other = next(row for row in body["by_category"] if row["key"] == "other")
    assert other["amount_rate"] == {"numerator": "0.00", "denominator": "0.00", "value": None}

    body = as_("audit_staff").get("/statistics/findings",
                                  query_string={"year": "2026", "unit": "health"}).get_json()
    assert body["period"]["args"] == {"year": "2026", "unit": "health"}
    assert body["counts"]["recorded"] == 2
    assert body["amount"] == "30000.50"
    assert body["by_year"] == [{"key": "2026", "label": "2026", "figure": "project_year:2026",
                                "filters": {}, "count": 2, "amount": "30000.50"}]


def test_trends_and_annual_figures_as_json(world, district, frozen, as_):
    body = as_("audit_staff").get("/statistics/trends", query_string={
        "start": "2026-02-15", "end": "2026-04-30"}).get_json()
    assert [m["month"] for m in body["months"]] == ["2026-02", "2026-03", "2026-04"]
    assert body["months"][1] == {"month": "2026-03", "findings_recorded": 3,
                                 "referrals_sent": 6, "referrals_received": 0,
                                 "rectifications_issued": 3, "rectifications_signed_off": 0}
    body = as_("audit_leader").get("/statistics/annual", query_string={"year": "2026"}) \
        .get_json()
    assert body["year"] == 2026
    assert (body["projects"], body["findings"], body["referrals_sent"]) == (1, 6, 10)
    assert body["amount_involved"] == "187500.50"
    assert body["amount_recovered"] == "80000.00"
    assert body["rectification_rate"]["value"] == 0.5
    assert body["rules_reports"] == 1


def test_a_quarter_and_a_range(world, district, frozen, as_):
    q1 = as_("audit_staff").get("/statistics/referrals",
                                query_string={"year": "2026", "quarter": "1"}).get_json()
    assert q1["period"]["start"] == "2026-01-01" and q1["period"]["end"] == "2026-03-31"
    assert q1["sent"]["counts"]["sent"] == 7
    both = as_("audit_staff").get("/statistics/referrals", query_string={
        "start": "2025-12-01", "end": "2026-01-31"}).get_json()
    assert both["sent"]["counts"]["sent"] == 2  # K and H


@pytest.mark.parametrize(("query", "field"), [
    ({"year": "1999"}, "year"),
    ({"year": "２０２６"}, "year"),
    ({"quarter": "5"}, "quarter"),
    ({"start": "2026-03-01", "end": "2026-02-01"}, "end"),
    ({"start": "2026-03-01"}, "end"),
    ({"start": "2010-01-01", "end": "2026-01-01"}, "end"),
    ({"start": "2026-13-01", "end": "2026-12-01"}, "start"),
    ({"year": "2026", "start": "2026-01-01", "end": "2026-02-01"}, "start"),
    ({"unit": "no-such-unit"}, "unit"),
    ({"category": "no-such-category"}, "category"),
    ({"receiver": "edu"}, "receiver"),
    ({"project": "bad project"}, "project"),
    ({"colour": "red"}, "colour"),
])
def test_bad_filters_are_refused_with_a_reason(world, as_, query, field):
    for path in ("referrals", "rectifications", "findings", "trends"):
        response = as_("audit_staff").get(f"/statistics/{path}", query_string=query)
        assert response.status_code == 422, (path, query)
        body = response.get_json()
        assert body["message"] == "部分字段填写有误。"
        assert field in body["errors"], body


def test_a_bad_filter_is_refused_in_english_too(world, as_):
    response = as_("audit_staff").get("/statistics/referrals", query_string={"year": "2026",
                                                                          "unit": "nobody"},
                                      headers={"Accept-Language": "en"})
    assert response.status_code == 422
    assert response.get_json()["errors"] == {"unit": ["Unknown audited unit."]} or \
        response.get_json()["errors"] == {"unit": "Unknown audited unit."}


PATHS = ("/statistics/referrals", "/statistics/rectifications", "/statistics/findings",
         "/statistics/trends", "/statistics/annual")


def test_who_may_read_figures(world, as_):
    world.sysadmin = UserFactory(username="sys.admin", agency=world.org, roles=["sysadmin"])
    world.secadmin = UserFactory(username="sec.admin", agency=world.org, roles=["secadmin"])
    world.auditadmin = UserFactory(username="audit.admin", agency=world.org,
                                   roles=["auditadmin"])
    for path in PATHS:
        for name in ("audit_staff", "audit_leader", "disc_staff", "insp_staff", "org_staff"):
            assert as_(name).get(path).status_code == 200, (name, path)
        # The audited unit: no such addresses, as for its other case routes.
        assert as_("unit_contact").get(path).status_code == 404
        for name in ("sysadmin", "secadmin", "auditadmin"):
            assert as_(name).get(path).status_code == 403, (name, path)
        assert world.client.get("/api/v1" + path).status_code == 401


def test_the_figures_count_only_what_the_reader_sees(world, district, frozen, as_):
    # The inspection office is a party to J only.
    body = as_("insp_staff").get("/statistics/referrals").get_json()
    assert body["sent"]["counts"]["sendings"] == 1
    assert body["received"]["counts"]["sendings"] == 0
    # The organisation department is a party to none; the audit bureau not to J.
    body = as_("org_staff").get("/statistics/referrals").get_json()
    assert body["sent"]["counts"]["sendings"] == body["received"]["counts"]["sendings"] == 0
    assert as_("org_staff").get("/statistics/rectifications").get_json()["counts"]["issued"] == 0
    audit = as_("audit_staff").get("/statistics/referrals",
                                   query_string={"receiver": "discipline"}).get_json()
    assert audit["sent"]["counts"]["sent"] == 9  # not J, not I
    # The neighbouring audit bureau sees nothing of ours.
    body = as_("audit2_staff").get("/statistics/findings").get_json()
    assert body["counts"]["recorded"] == 0 and body["amount"] == "0.00"
    # The commission's rectification figures: it issues none.
    body = as_("disc_staff").get("/statistics/rectifications").get_json()
    assert body["counts"]["issued"] == 0 and body["rate"]["value"] is None
