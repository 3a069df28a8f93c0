"""The finding access table: always what the visibility rule says, in the same transaction as
the change that moves it, whatever path wrote the change."""

from __future__ import annotations

import random
from datetime import UTC, datetime
from decimal import Decimal

import pytest
import sqlalchemy as sa

from supervise.accounts.models import AgencyKind
from supervise.database import BEIJING_TIME
from supervise.extensions import db
from supervise.findings.models import Finding, FindingAccess, FindingStatus, FindingTotal, Share
from supervise.policy.findings import refresh_access
from tests.factories import AgencyFactory, FindingFactory, ProjectFactory, ShareFactory


def rule() -> set[tuple]:
    """Who may read each finding, computed from findings and shares alone (domain.md: the owner
    always; an agency it is shared with while issued and not withdrawn)."""
    rows = set()
    for f in db.session.scalars(sa.select(Finding)):
        year = f.project.year if f.project else f.created_at.astimezone(BEIJING_TIME).year
        facts = (f.status, f.unit_id, f.project_id, f.category_code, year, f.amount)
        rows.add((f.owner_agency_id, f.id, True, *facts))
        if f.status == FindingStatus.ISSUED:
            rows |= {(s.agency_id, f.id, False, *facts) for s in f.shares if s.active}
    return rows


def table() -> set[tuple]:
    return {(a.agency_id, a.finding_id, a.own, a.status, a.unit_id, a.project_id,
             a.category_code, a.year, a.amount)
            for a in db.session.scalars(sa.select(FindingAccess))}


def totals_by_rule() -> dict[tuple, tuple[int, int]]:
    found: dict[tuple, list[int]] = {}
    for agency_id, _finding, own, status, _unit, _project, category, year, amount in rule():
        total = found.setdefault((agency_id, own, status, year, category), [0, 0])
        total[0] += 1
        total[1] += int((amount or 0) * 100)
    return {key: tuple(value) for key, value in found.items()}


def totals() -> dict[tuple, tuple[int, int]]:
    return {(t.agency_id, t.own, t.status, t.year, t.category_code): (t.findings, t.cents)
            for t in db.session.scalars(sa.select(FindingTotal)) if t.findings or t.cents}


def test_a_random_life_of_findings_and_shares_keeps_the_table_equal_to_the_rule(app):
    rng = random.Random(13)
    audit = AgencyFactory(kind=AgencyKind.AUDIT)
    readers = [AgencyFactory(kind=AgencyKind.INSPECTION), AgencyFactory(kind=AgencyKind.DISCIPLINE)]
    units = [AgencyFactory(kind=AgencyKind.AUDITED_UNIT) for _ in range(3)]
    projects = [ProjectFactory(lead_agency=audit, year=year) for year in (2023, 2024)]
    findings = []
    for step in range(120):
        move = rng.choice(["create", "create", "issue", "share", "withdraw", "edit", "year",
                           "delete"])
        if move == "create" or not findings:
            findings.append(FindingFactory(
                owner_agency=audit, unit=rng.choice(units),
                project=rng.choice([None, *projects]),
                status=rng.choice([FindingStatus.DRAFT, FindingStatus.ISSUED])))
            continue
        finding = rng.choice(findings)
        if move == "issue":
            finding.status = FindingStatus.ISSUED
        elif move == "share" and finding.status == FindingStatus.ISSUED:
            agency = rng.choice(readers)
            if not any(s.active and s.agency_id == agency.id for s in finding.shares):
                ShareFactory(finding=finding, agency=agency)
        elif move == "withdraw":
            for share in finding.shares:
                if share.active:
                    share.withdrawn_at = datetime.now(UTC)
                    break
        elif move == "edit":
            finding.amount = Decimal(rng.randint(0, 10**6)) / 100
            finding.unit = rng.choice(units)
            finding.category_code = rng.choice(["allowances", "budget"])
        elif move == "year":
            rng.choice(projects).year = rng.choice([2022, 2023, 2024, 2025])
        elif move == "delete" and not finding.shares:
            findings.remove(finding)
            db.session.delete(finding)
        db.session.commit()
        assert table() == rule(), f"after step {step}: {move}"
        assert totals() == totals_by_rule(), f"after step {step}: {move}"
    assert len(table()) > 15 and any(not own for _a, _f, own, *_ in table())

    # Rebuilt from nothing, the table is the same.
    refresh_access(db.session.connection())
    db.session.commit()
    assert table() == rule()
    assert totals() == totals_by_rule()


def test_a_rolled_back_share_leaves_no_reader(app):
    finding = FindingFactory()
    inspection = AgencyFactory(kind=AgencyKind.INSPECTION)
    db.session.add(Share(finding=finding, agency=inspection, handling="may_refer",
                         shared_by=finding.created_by))
    db.session.flush()
    assert (inspection.id, finding.id) in {(a.agency_id, a.finding_id)
                                           for a in db.session.scalars(sa.select(FindingAccess))}
    db.session.rollback()
    assert db.session.scalar(sa.select(sa.func.count()).select_from(FindingAccess).where(
        FindingAccess.agency_id == inspection.id)) == 0


@pytest.mark.parametrize(("recorded", "year"), [
    (datetime(2025, 12, 31, 15, 59, tzinfo=UTC), 2025),  # 23:59 in Beijing
    (datetime(2025, 12, 31, 16, 0, tzinfo=UTC), 2026),  # midnight in Beijing
])
def test_a_finding_without_a_project_is_of_the_year_it_was_recorded_in_beijing(
        app, recorded, year):
    finding = FindingFactory(project=None, created_at=recorded)
    assert {a.year for a in db.session.scalars(
        sa.select(FindingAccess).where(FindingAccess.finding_id == finding.id))} == {year}


def test_the_migration_fills_the_table_and_the_totals_by_the_rule(empty_database_url):
    from flask_migrate import downgrade, upgrade

    from tests.conftest import make_app

    app = make_app(empty_database_url)
    with app.app_context():
        upgrade()
        inspection = AgencyFactory(kind=AgencyKind.INSPECTION)
        project = ProjectFactory(year=2022)
        shared = FindingFactory(project=project, amount=Decimal("0.10"))
        ShareFactory(finding=shared, agency=inspection)
        withdrawn = ShareFactory(agency=inspection)
        withdrawn.withdrawn_at = datetime.now(UTC)
        FindingFactory(status=FindingStatus.DRAFT, project=None, amount=None,
                       created_at=datetime(2023, 12, 31, 16, 30, tzinfo=UTC))
        db.session.commit()
        expected, expected_totals = rule(), totals_by_rule()
        assert table() == expected
        db.session.remove()  # its reads would hold locks the migration waits for
        downgrade(revision="0018")
        upgrade()
        assert table() == expected
        assert totals() == expected_totals
        assert {2022, 2024} <= {year for *_head, year, _amount in expected}
        db.session.remove()
        db.engine.dispose()


@pytest.mark.parametrize("args", [
    {}, {"scope": "own"}, {"scope": "shared_with_us"}, {"status": "draft"}, {"year": "2023"},
    {"category": "budget", "scope": "own"}, {"year": "2024", "category": "allowances"},
    {"unit": "u-total"}, {"project": "p-total"}, {"q": "津补贴"}, {"scope": "bogus"},
])
def test_the_count_and_total_are_those_of_the_listed_findings(app, args):
    from supervise.findings import queries
    from tests.factories import UserFactory

    audit, inspection = AgencyFactory(kind=AgencyKind.AUDIT), AgencyFactory(
        kind=AgencyKind.INSPECTION)
    unit = AgencyFactory(kind=AgencyKind.AUDITED_UNIT, code="u-total")
    project = ProjectFactory(lead_agency=audit, year=2023)
    project.public_id = "p-total"
    rng = random.Random(5)
    for n in range(30):
        finding = FindingFactory(
            owner_agency=audit, unit=unit if n % 3 else AgencyFactory(
                kind=AgencyKind.AUDITED_UNIT), project=project if n % 4 == 0 else None,
            status=rng.choice(list(FindingStatus)), category_code=rng.choice(
                ["allowances", "budget"]), amount=rng.choice([None, Decimal("0.01"),
                                                              Decimal("12345.67")]),
            created_at=datetime(rng.choice([2023, 2024]), 6, 1, tzinfo=UTC))
        if finding.status == FindingStatus.ISSUED and n % 2:
            ShareFactory(finding=finding, agency=inspection)
    FindingFactory(owner_agency=inspection, unit=unit)  # the inspection office's own
    for reader in (UserFactory(agency=audit), UserFactory(agency=inspection)):
        f = queries.FindingFilter.from_args(args)
        listed = db.session.scalars(queries.matching(reader, f)).all()
        assert queries.count_and_total(reader, f) == (
            len(listed), sum((x.amount or 0 for x in listed), Decimal("0.00")))


@pytest.mark.parametrize("q", ["津补贴", "补贴", "津", "问题3", 'NEAR("a', '" OR *', "AbC", "%_\\"])
def test_the_text_filter_finds_what_the_text_holds_through_the_index(app, q):
    from supervise.findings import queries
    from tests.factories import UserFactory

    audit = AgencyFactory(kind=AgencyKind.AUDIT)
    texts = ["违规发放津补贴问题3", "虚列支出", "津贴 abc 问题", 'x NEAR("a y', 'say " OR * now',
             "100%_\\ 完成", "補貼"]
    for n, text in enumerate(texts):
        FindingFactory(owner_agency=audit, title=f"标题{n}", facts=text)
    reader = UserFactory(agency=audit)
    found = {x.facts for x in db.session.scalars(
        queries.matching(reader, queries.FindingFilter.from_args({"q": q})))}
    assert found == {t for t in texts if q.casefold() in t.casefold()}
