"""Every figure of a known half-year, exactly (tests/statistics/conftest.py tells the story)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from supervise.statistics import figures as F
from supervise.statistics.figures import Durations, Rate, Spread, StatisticsQuery

Y2026 = StatisticsQuery.for_year(2026)


def spread(count, median, p90):
    return Spread(count, Decimal(str(median)), Decimal(str(p90)))


def by_key(rows):
    return {row.key: row.count for row in rows}


def test_the_senders_referral_figures(world, district, frozen):
    sent = F.referral_figures(world.audit_staff, Y2026).sent
    assert sent.subject == F.REFERRALS_SENT
    assert dict(sent.counts) == {
        # 11 versions sent in 2026 (C and its revision C2 among them); 10 matters.
        "sendings": 11, "sent": 10,
        # A, C (its return), C2, E, G, H, I on time; B late; D never; F not yet due.
        "ack_on_time": 7, "ack_late": 1, "ack_overdue": 1, "ack_waiting": 1,
        "acknowledged": 7, "returned": 1, "withdrawn": 1,
        # A, I on time, B on time within its approved extension; E late; C2, D, H overdue.
        "answered": 4, "answer_on_time": 3, "answer_late": 1, "answer_overdue": 3,
        "extended": 1, "chased": 1,
        "open": 5, "open_0_30": 1, "open_31_90": 1, "open_91_180": 2, "open_over_180": 1,
    }
    assert sent.acknowledge_rate == Rate(7, 9)
    assert sent.acknowledge_rate.value == Decimal("0.7778")
    assert sent.acknowledge_rate.percent == Decimal("77.8")
    assert sent.answer_rate == Rate(3, 7)
    assert sent.answer_rate.value == Decimal("0.4286")
    assert by_key(sent.by_kind) == {"clue": 9, "handling": 1, "assistance": 0}
    assert by_key(sent.by_state) == {"sent": 2, "acknowledged": 2, "in_handling": 1,
                                     "answered": 3, "closed": 1, "returned": 0,
                                     "withdrawn": 1}
    assert [(c.key, c.figure, c.count) for c in sent.by_disposition] == [
        ("talk_or_inquiry", "disposition:talk_or_inquiry", 1),
        ("preliminary_verification", "disposition:preliminary_verification", 1),
        ("case_opened", "disposition:case_opened", 1),
        ("adopted", "disposition:adopted", 1)]
    # Acknowledged (or returned) after 2, 5, 1, 1, 1, 2, 2, 1 working days (calendar: 2, 7, 1,
    # 1, 1, 2, 2, 1); answered after 34, 90, 66, 8 working days (49, 130, 98, 10 days).
    assert sent.to_acknowledge == Durations(spread(8, "1.5", 5), spread(8, "1.5", 7))
    assert sent.to_answer == Durations(spread(4, 50, 90), spread(4, "73.5", 130))
    assert [(c.figure, c.count) for c in sent.open_by_age] == [
        ("open_0_30", 1), ("open_31_90", 1), ("open_91_180", 2), ("open_over_180", 1)]
    assert sent.chasers == 2
    assert sent.chasers_per_item == Rate(2, 10)
    assert sent.chasers_per_item.value == Decimal("0.2000")


def test_the_receivers_referral_figures(world, district, frozen):
    received = F.referral_figures(world.disc_staff, Y2026).received
    # The audit bureau's ten to the commission (C, C2 one matter; not I, to finance) and the
    # inspection office's J.
    assert received.counts["sendings"] == 11
    assert received.counts["sent"] == 10
    assert received.counts["ack_on_time"] == 7  # A, C, C2, E, G, H, J
    assert received.acknowledge_rate == Rate(7, 9)
    assert received.answer_rate == Rate(2, 7)  # A, B; E late; C2, D, H, J overdue
    assert by_key(received.by_kind)["handling"] == 0
    # The commission sent nothing.
    sent = F.referral_figures(world.disc_staff, Y2026).sent
    assert sent.counts["sendings"] == 0
    assert sent.acknowledge_rate.value is None and sent.answer_rate.value is None
    assert sent.to_acknowledge == Durations(Spread(0, None, None), Spread(0, None, None))
    assert sent.chasers_per_item.value is None


def test_a_revision_sent_elsewhere_leaves_the_first_receiver_its_return(world, district,
                                                                         frozen):
    """C was returned by the commission; had its revision gone to the finance bureau, the
    commission would still count what it returned."""
    from supervise.extensions import db

    district.c2.receiver_agency_id = world.finance.id
    db.session.commit()
    received = F.referral_figures(world.disc_staff, Y2026).received
    assert received.counts["sendings"] == 10  # C, not C2
    assert received.counts["sent"] == 10
    assert by_key(received.by_state)["returned"] == 1
    assert F.referral_figures(world.audit_staff, Y2026).sent.counts["sent"] == 10


def test_rectification_figures(world, district, frozen):
    found = F.rectification_figures(world.audit_staff, Y2026)
    assert dict(found.counts) == {"issued": 4, "signed_off": 2, "in_progress": 1, "overdue": 1,
                                  "sent_back": 1, "with_rules": 1, "signed_off_in_period": 3}
    assert found.rate == Rate(2, 4) and found.rate.value == Decimal("0.5000")
    assert found.amount_involved == Decimal("180000.50")
    assert found.amount_recovered == Decimal("80000.00")
    assert found.amount_rate == Rate(Decimal("80000.00"), Decimal("180000.50"))
    assert found.amount_rate.value == Decimal("0.4444")
    assert found.rules_reports == 1
    # Signed off after 28 and 45 working days (39 and 67 days).
    assert found.to_sign_off == Durations(spread(2, "36.5", 45), spread(2, 53, 67))
    assert [(u.key, u.filters, u.issued, u.signed_off, u.rate, u.amount_involved,
             u.amount_recovered) for u in found.by_unit] == [
        ("edu", {"unit": "edu"}, 2, 1, Rate(1, 2), Decimal("150000.00"), Decimal("80000.00")),
        ("health", {"unit": "health"}, 2, 1, Rate(1, 2), Decimal("30000.50"),
         Decimal("0.00"))]
    categories = {c.key: c for c in found.by_category}
    assert list(categories) == ["allowances", "procurement", "other"]
    assert categories["allowances"].amount_involved == Decimal("130000.50")
    assert categories["allowances"].amount_recovered == Decimal("60000.00")
    assert categories["procurement"].amount_rate.value == Decimal("0.4000")
    # Nothing involved, nothing to rate.
    assert categories["other"].amount_rate.value is None
    assert categories["other"].rate.value == Decimal("1.0000")
    assert categories["allowances"].label == "违规发放津补贴"


def test_finding_figures(world, district, frozen):
    found = F.finding_figures(world.audit_staff, Y2026)
    assert dict(found.counts) == {"recorded": 6, "issued": 5, "shared": 1, "referred": 1,
                                  "rectification": 4, "shared_with_us": 1}
    assert found.amount == Decimal("187500.50")
    assert [(r.key, r.count, r.amount) for r in found.by_category] == [
        ("allowances", 3, Decimal("137000.50")), ("procurement", 1, Decimal("50000.00")),
        ("other", 2, Decimal("500.00"))]
    assert [(r.key, r.figure, r.filters, r.count, r.amount) for r in found.by_unit] == [
        ("edu", "recorded", {"unit": "edu"}, 4, Decimal("157500.00")),
        ("health", "recorded", {"unit": "health"}, 2, Decimal("30000.50"))]
    assert [(r.key, r.figure, r.count, r.amount) for r in found.by_year] == [
        ("2026", "project_year:2026", 5, Decimal("180500.50")),
        ("2025", "project_year:2025", 1, Decimal("7000.00"))]
    inspection = F.finding_figures(world.insp_staff, Y2026)
    assert inspection.counts["recorded"] == 1
    assert inspection.counts["shared_with_us"] == 1  # F6, from the audit bureau


def test_monthly_trends(world, district, frozen):
    months = F.monthly_trends(world.audit_staff, Y2026)
    assert [m.key for m in months] == [f"2026-{n:02d}" for n in range(1, 13)]
    table = {m.month: (m.findings_recorded, m.referrals_sent, m.referrals_received,
                       m.rectifications_issued, m.rectifications_signed_off) for m in months}
    assert table == {1: (0, 1, 0, 0, 0), 2: (2, 0, 0, 0, 1), 3: (3, 6, 0, 3, 0),
                     4: (0, 1, 0, 0, 1), 5: (1, 1, 0, 0, 1), 6: (0, 0, 0, 1, 0),
                     7: (0, 1, 0, 0, 0), 8: (0, 0, 0, 0, 0), 9: (0, 0, 0, 0, 0),
                     10: (0, 0, 0, 0, 0), 11: (0, 0, 0, 0, 0), 12: (0, 0, 0, 0, 0)}
    march = months[2].query
    assert march.to_args() == {"start": "2026-03-01", "end": "2026-03-31"}
    assert F.count_records(world.audit_staff, F.REFERRALS_SENT, "sent", march) == 6
    assert F.monthly_trends(world.disc_staff, Y2026)[2].referrals_received == 6


def test_annual_figures(world, district, frozen):
    year = F.annual_figures(world.audit_staff, 2026)
    assert (year.projects, year.findings, year.amount_involved) == (1, 6, Decimal("187500.50"))
    assert (year.referrals_sent, year.referrals_answered) == (10, 4)
    assert [c.key for c in year.referral_results] == [
        "talk_or_inquiry", "preliminary_verification", "case_opened", "adopted"]
    assert (year.rectifications_issued, year.rectifications_signed_off) == (4, 2)
    assert year.rectification_rate == Rate(2, 4)
    assert year.rectification_amount_involved == Decimal("180000.50")
    assert year.amount_recovered == Decimal("80000.00")
    assert year.amount_rate.value == Decimal("0.4444")
    assert (year.rules_reports, year.rules_items) == (1, 1)
    earlier = F.annual_figures(world.audit_staff, 2025)
    assert (earlier.projects, earlier.findings, earlier.referrals_sent) == (1, 1, 1)
    assert earlier.rectifications_issued == 1


def test_the_filters_narrow_every_figure(world, district, frozen):
    q = Y2026.narrowed(unit="health")
    assert F.rectification_figures(world.audit_staff, q).counts["issued"] == 2
    assert F.finding_figures(world.audit_staff, q).counts["recorded"] == 2
    # A cites F6 (区教育局, 违规发放津补贴, the 2025 project).
    for narrowed in (Y2026.narrowed(unit="edu"), Y2026.narrowed(category="allowances"),
                     Y2026.narrowed(project=district.project_2025.public_id)):
        assert F.referral_figures(world.audit_staff, narrowed).sent.counts["sent"] == 1
    assert F.referral_figures(world.audit_staff, Y2026.narrowed(receiver="finance")) \
        .sent.counts["sent"] == 1
    assert F.finding_figures(
        world.audit_staff, Y2026.narrowed(project=district.project_2025.public_id)
    ).counts["recorded"] == 1
    q1 = StatisticsQuery.for_quarter(2026, 1)
    assert F.referral_figures(world.audit_staff, q1).sent.counts["sent"] == 7
    assert F.rectification_figures(world.audit_staff, q1).counts["signed_off_in_period"] == 1


def every_figure(user, subject, q):
    """Every figure name `records` takes that the figures of this subject report."""
    if subject in F.SIDES:
        side = getattr(F.referral_figures(user, q), F.SIDES[subject])
        found = dict(side.counts)
        for row in (*side.by_kind, *side.by_state, *side.by_disposition):
            found[row.figure] = row.count
        return found, []
    if subject == F.RECTIFICATIONS:
        figures = F.rectification_figures(user, q)
        rows = [({"issued": r.issued, "signed_off": r.signed_off}, r.filters)
                for r in (*figures.by_unit, *figures.by_category)]
        return dict(figures.counts), rows
    figures = F.finding_figures(user, q)
    found = dict(figures.counts)
    found.update({r.figure: r.count for r in figures.by_year})
    rows = [({r.figure: r.count}, r.filters) for r in (*figures.by_unit, *figures.by_category)]
    return found, rows


@pytest.mark.parametrize("name", ["audit_staff", "audit_leader", "disc_staff", "insp_staff",
                                  "finance_staff"])
def test_every_figure_counts_the_records_it_links_to(world, district, frozen, name):
    user = getattr(world, name)
    for q in (Y2026, StatisticsQuery.for_quarter(2026, 1), Y2026.narrowed(unit="edu")):
        for subject in F.SUBJECTS:
            counts, rows = every_figure(user, subject, q)
            for figure, count in counts.items():
                assert F.count_records(user, subject, figure, q) == count, (subject, figure)
            for row_counts, filters in rows:
                for figure, count in row_counts.items():
                    assert F.count_records(user, subject, figure, q.narrowed(**filters)) \
                        == count, (subject, figure, filters)


def test_unknown_figures(world):
    for subject, figure in (("nothing", "sent"), (F.REFERRALS_SENT, "nothing"),
                            (F.REFERRALS_SENT, "kind:nothing"), (F.FINDINGS, "kind:clue"),
                            (F.FINDINGS, "project_year:abc"), (F.RECTIFICATIONS, "sent")):
        with pytest.raises(F.UnknownFigure):
            F.records(world.audit_staff, subject, figure, Y2026)


def test_nothing_to_count_gives_no_rate(world, frozen):
    referrals = F.referral_figures(world.audit_staff, Y2026)
    for side in (referrals.sent, referrals.received):
        assert side.acknowledge_rate.value is None
        assert side.answer_rate.value is None
        assert side.chasers_per_item.value is None
        assert side.acknowledge_rate.percent is None
    rectifications = F.rectification_figures(world.audit_staff, Y2026)
    assert rectifications.rate.value is None and rectifications.amount_rate.value is None
    assert rectifications.amount_involved == Decimal("0.00")
    assert rectifications.to_sign_off.working_days == Spread(0, None, None)
    assert F.annual_figures(world.audit_staff, 2026).rectification_rate.value is None


def test_the_statements_are_bounded(world, district, frozen, count_queries):
    F.load_calendar()
    assert world.audit_staff.agency.kind  # the user and the agency are loaded
    with count_queries() as statements:
        F.referral_figures(world.audit_staff, Y2026)
    assert len(statements) <= 6
    with count_queries() as statements:
        F.rectification_figures(world.audit_staff, Y2026)
    assert len(statements) <= 6
    with count_queries() as statements:
        F.finding_figures(world.audit_staff, Y2026)
    assert len(statements) <= 3
    with count_queries() as statements:
        F.monthly_trends(world.audit_staff, Y2026)
    assert len(statements) == 5


def test_the_day_counter_counts_working_days_after_the_first_day():
    from supervise.calendar.deadlines import WorkingCalendar
    from supervise.database import DAY_ZERO

    def day(d: date) -> int:  # a day number, as `beijing_day` gives it
        return (d - DAY_ZERO).days

    counter = F._DayCounter(WorkingCalendar(known_years=frozenset({2026})))
    # Friday to Monday: one working day, three days; the same day: none.
    found = counter.spans([(day(date(2026, 3, 6)), day(date(2026, 3, 9))),
                           (day(date(2026, 3, 6)), day(date(2026, 3, 6)))])
    assert found == Durations(spread(2, "0.5", 1), spread(2, "1.5", 3))
