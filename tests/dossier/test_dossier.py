"""The unit dossier (单位画像): what each agency may see about one audited unit, and nothing more.
A referral shows only to its two parties; a share only to the agency it was made with; a repeat
problem only where the agency reads both findings; the page costs the same few statements
whatever the data size."""

from __future__ import annotations

import re
from datetime import timedelta
from decimal import Decimal

import pytest

from supervise.database import now_utc
from supervise.dossier import queries
from supervise.extensions import db
from supervise.findings.models import FindingStatus
from supervise.referrals.models import CitedFinding, ReferralState
from tests.conftest import page_text
from tests.factories import FindingFactory, ShareFactory, UserFactory
from tests.rectifications.factories import finding_for, rectification_in
from tests.referrals.factories import referral_in

R = queries.RectificationState
S = ReferralState

CASE_READERS = ("audit_staff", "audit_leader", "insp_staff", "disc_staff", "disc_leader",
                "org_staff", "audit2_staff")


@pytest.fixture
def page(world, new_client):
    """page("insp_staff", "/units/edu/dossier") -> the response to that user's browser."""
    clients = {}

    def get(name: str, url: str):
        if name not in clients:
            clients[name] = new_client()
            clients[name].sign_in(getattr(world, name).username)
        return clients[name].get(url)

    return get


def dossier_of(unit) -> str:
    return f"/units/{unit.code}/dossier"


def shared_with(finding, agency, **fields):
    return ShareFactory(finding=finding, agency=agency, shared_by=finding.created_by, **fields)


def sent_referral(world, state, findings, **fields):
    """A referral from the audit bureau to the commission, with the findings it cites copied as
    sending copies them."""
    referral = referral_in(world, state, findings=findings, **fields)
    referral.cited = [CitedFinding.copy_of(f, i) for i, f in enumerate(findings)]
    db.session.commit()
    return referral


# --- referrals: their parties only ----------------------------------------------------------

def test_a_referral_about_the_unit_shows_only_to_its_parties(world, page):
    finding = finding_for(world, title="区教育局违规发放津补贴")
    shared_with(finding, world.inspection)  # the inspection office reads the finding itself
    clue = sent_referral(world, S.ANSWERED, [finding],
                         title="关于区教育局违规发放津补贴问题线索的移送",
                         persons=(("张建国", "区教育局局长"), ("李明华", "计划财务科科长")))
    draft = referral_in(world, S.DRAFT, findings=[finding],
                        title="关于区教育局食堂采购问题的移送（草稿）",
                        persons=(("王志强", "装备中心主任"),))

    seen = {}
    for name in CASE_READERS:
        response = page(name, dossier_of(world.edu))
        assert response.status_code == 200, name
        seen[name] = response.get_data(as_text=True)

    for name in ("audit_staff", "audit_leader", "disc_staff", "disc_leader"):
        assert clue.title in seen[name], name
        assert clue.public_id in seen[name], name
        assert "初步核实" in page_text_of(seen[name]), name  # its outcome
    # The draft is the sending agency's alone until it is sent.
    for name in ("audit_staff", "audit_leader"):
        assert draft.title in seen[name]
    for name in ("disc_staff", "disc_leader"):
        assert draft.title not in seen[name]
    # The inspection office reads the finding, not the referral made from it; nor do agencies
    # party to none. Nothing of either referral, anywhere in the page.
    for name in ("insp_staff", "org_staff", "audit2_staff"):
        html = seen[name]
        for referral in (clue, draft):
            assert referral.title not in html, name
            assert referral.public_id not in html, name
        assert _referrals_tile(html) == 0, name
    # The persons involved are on no dossier, whoever reads it.
    for name, html in seen.items():
        for person in ("张建国", "李明华", "王志强", "张**", "李**"):
            assert person not in html, (name, person)

    assert "区教育局违规发放津补贴" in seen["insp_staff"]  # the shared finding itself


def page_text_of(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def _referrals_tile(html: str) -> int:
    """The number on the summary's referrals tile; 0 on an empty dossier, which has none."""
    match = re.search(r'id="tile-referrals"><span class="tile-n">(\d+)<', html)
    return int(match.group(1)) if match else 0


def test_the_inspection_office_sees_its_own_referral_and_not_the_audit_bureaus(world, page):
    audit_finding = finding_for(world, title="区教育局违规发放津补贴")
    shared_with(audit_finding, world.inspection)
    from_audit = sent_referral(world, S.IN_HANDLING, [audit_finding],
                               title="审计局移送的问题线索", persons=(("张建国", "局长"),))
    own = FindingFactory(owner_agency=world.inspection, unit=world.edu,
                         created_by=world.insp_staff, title="党组主体责任落实不到位",
                         category_code="other")
    from_inspection = sent_referral(world, S.CLOSED, [own], title="巡察办移送的问题线索",
                                    sender_agency=world.inspection, created_by=world.insp_staff,
                                    persons=(("赵某", "副局长"),))

    html = page("insp_staff", dossier_of(world.edu)).get_data(as_text=True)
    assert from_inspection.title in html
    assert from_audit.title not in html and "张建国" not in html
    assert _referrals_tile(html) == 1
    html = page("disc_staff", dossier_of(world.edu)).get_data(as_text=True)
    assert from_inspection.title in html and from_audit.title in html
    assert _referrals_tile(html) == 2


def test_the_receiver_reads_the_unit_a_referral_was_sent_about(world, page):
    """What was sent never changes: the finding moved to another unit afterwards leaves the
    referral, for its receiver, in the dossier of the unit it was sent about."""
    finding = finding_for(world)
    referral = sent_referral(world, S.ACKNOWLEDGED, [finding], title="关于区教育局的问题线索")
    finding.unit = world.health
    db.session.commit()
    assert referral.title in page("disc_staff", dossier_of(world.edu)).get_data(as_text=True)
    assert referral.title not in page("disc_staff", dossier_of(world.health)).get_data(
        as_text=True)


# --- shares ---------------------------------------------------------------------------------

def test_shares_show_only_to_the_agency_they_were_made_with(world, page):
    shared = finding_for(world, title="共享给巡察办的问题", amount=Decimal("1000.00"))
    shared_with(shared, world.inspection, note="请巡察时重点关注")
    kept = finding_for(world, title="审计局自留的问题")
    withdrawn = finding_for(world, title="已撤回共享的问题")
    shared_with(withdrawn, world.inspection, withdrawn_at=now_utc(),
                withdrawn_by=world.audit_staff)
    to_org = finding_for(world, title="共享给组织部的问题")
    shared_with(to_org, world.org)
    draft = finding_for(world, title="尚未签发的问题", status=FindingStatus.DRAFT, issued_at=None)
    shared_with(draft, world.inspection)  # not readable before it is issued

    html = page("insp_staff", dossier_of(world.edu)).get_data(as_text=True)
    assert shared.title in html and "请巡察时重点关注" in html
    for other in (kept, withdrawn, to_org, draft):
        assert other.title not in html, other.title
    assert "共享给本单位 区审计局 1 " in page_text_of(html)  # by the agency that shared

    html = page("org_staff", dossier_of(world.edu)).get_data(as_text=True)
    assert to_org.title in html and shared.title not in html

    # The owner reads its own findings (drafts counted apart), not as shares.
    figures = queries.finding_figures(world.audit_staff, world.edu)
    assert (figures.own, figures.shared, figures.not_issued) == (4, 0, 1)
    figures = queries.finding_figures(world.insp_staff, world.edu)
    assert (figures.own, figures.shared, figures.amount) == (0, 1, Decimal("1000.00"))


def test_the_figures_by_year_and_category_are_the_tables_and_the_charts(world, page):
    finding_for(world, category_code="allowances", amount=Decimal("100.10"),
                created_at=now_utc() - timedelta(days=800))
    finding_for(world, category_code="allowances", amount=Decimal("200.20"))
    finding_for(world, category_code="procurement", amount=None)
    html = page("audit_staff", dossier_of(world.edu)).get_data(as_text=True)
    by_category = re.search(r'<table[^>]*id="findings-by-category".*?</table>', html, re.S).group(0)
    assert 'data-chart="pie"' in by_category
    assert re.search(r'违规发放津补贴</th><td class="num" data-value="2">2</td>'
                     r'<td class="num" data-value="300.30">300.30 元</td>', by_category)
    assert re.search(r'政府采购</th><td class="num" data-value="1">1</td>'
                     r'<td class="num" data-value="0.00">0.00 元</td>', by_category)
    by_year = re.search(r'<table[^>]*id="findings-by-year".*?</table>', html, re.S).group(0)
    assert 'data-chart="stacked"' in by_year and by_year.count("data-chart-omit") == 1
    assert len(re.findall(r"<tbody>.*?</tbody>", by_year, re.S)[0].split("<tr>")) == 3  # 2 years
    assert 'vendor/echarts/echarts.min.js' in html and "js/charts.js" in html
    # Nothing the Content-Security-Policy would refuse.
    assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", html)
    assert not re.search(r"\s(style|on[a-z]+)\s*=", html) and "<style" not in html


# --- repeat problems ------------------------------------------------------------------------

def _signed_off(world, *, at, category="allowances", unit=None, title="违规发放津补贴（首次）"):
    finding = finding_for(world, unit=unit, category_code=category, title=title,
                          created_at=at - timedelta(days=90))
    rectification = rectification_in(world, R.SIGNED_OFF, finding=finding,
                                     issued_at=at - timedelta(days=60))
    rectification.signed_off_at = at
    db.session.commit()
    return finding


def test_a_problem_found_again_after_its_sign_off_is_a_repeat(world, page):
    now = now_utc()
    first = _signed_off(world, at=now - timedelta(days=300))
    again = finding_for(world, title="再次违规发放津补贴", created_at=now - timedelta(days=10))
    before = finding_for(world, title="销号前发现的津补贴问题",
                         created_at=now - timedelta(days=320))
    other_category = finding_for(world, title="政府采购问题", category_code="procurement",
                                 created_at=now - timedelta(days=10))
    other_unit = finding_for(world, unit=world.health, title="卫健委违规发放津补贴",
                             created_at=now - timedelta(days=10))
    draft = finding_for(world, title="草稿中的津补贴问题", status=FindingStatus.DRAFT,
                        issued_at=None, created_at=now - timedelta(days=5))
    # An earlier one not signed off (verified only) is no ground for a repeat.
    not_signed = finding_for(world, category_code="three_public", title="超标准接待（首次）",
                             created_at=now - timedelta(days=200))
    rectification_in(world, R.VERIFIED, finding=not_signed, issued_at=now - timedelta(days=190))
    finding_for(world, category_code="three_public", title="超标准接待（再次）",
                created_at=now - timedelta(days=5))

    repeats = queries.repeat_figures(world.audit_staff, world.edu)
    assert repeats.total == 1
    [repeat] = repeats.latest
    assert (repeat.finding.id, repeat.earlier.id) == (again.id, first.id)
    assert abs(repeat.signed_off_at - (now - timedelta(days=300))) < timedelta(seconds=1)
    for not_a_repeat in (before, other_category, other_unit, draft):
        assert not_a_repeat.id not in {r.finding.id for r in repeats.latest}

    html = page("audit_staff", dossier_of(world.edu)).get_data(as_text=True)
    section = re.search(r'id="dossier-repeats".*?</section>', html, re.S).group(0)
    assert again.title in section and first.title in section and before.title not in section
    assert queries.repeat_figures(world.audit_staff, world.health).total == 0


def test_a_repeat_names_the_latest_sign_off_before_it(world):
    now = now_utc()
    _signed_off(world, at=now - timedelta(days=400), title="第一次")
    second = _signed_off(world, at=now - timedelta(days=100), title="第二次")
    again = finding_for(world, title="第三次", created_at=now - timedelta(days=1))
    repeats = queries.repeat_figures(world.audit_staff, world.edu)
    # The second finding is itself a repeat of the first (recorded after its sign-off).
    assert repeats.total == 2
    assert (repeats.latest[0].finding.id, repeats.latest[0].earlier.id) == (again.id, second.id)


def test_a_repeat_shows_only_where_the_agency_reads_both_findings(world):
    now = now_utc()
    first = _signed_off(world, at=now - timedelta(days=300))
    again = finding_for(world, title="再次违规发放津补贴", created_at=now - timedelta(days=10))
    shared_with(again, world.inspection)
    # The inspection office reads the new finding only: the earlier one and its sign-off are
    # the audit bureau's.
    assert queries.repeat_figures(world.insp_staff, world.edu).total == 0
    shared_with(first, world.inspection)
    repeats = queries.repeat_figures(world.insp_staff, world.edu)
    assert [(r.finding.id, r.earlier.id) for r in repeats.latest] == [(again.id, first.id)]
    assert queries.repeat_figures(world.org_staff, world.edu).total == 0


# --- rectification --------------------------------------------------------------------------

def test_rectification_status_and_overdue_items(world, page):
    now = now_utc()
    late = rectification_in(world, R.NOT_STARTED, finding=finding_for(world, title="逾期未整改"),
                            issued_at=now - timedelta(days=90), due_at=now - timedelta(days=20))
    rectification_in(world, R.SIGNED_OFF, finding=finding_for(world, title="已销号"))
    rectification_in(world, R.IN_PROGRESS, unit=world.health)  # another unit
    shared_with(late.finding, world.inspection)

    figures = queries.rectification_figures(world.audit_staff, world.edu)
    assert (figures.items, figures.signed_off, figures.overdue) == (2, 1, 1)
    assert figures.rate == Decimal("0.5")
    assert figures.recovered == Decimal("123456.00")  # the signed-off item's final report
    assert [r.id for r in figures.overdue_items] == [late.id]

    html = page("audit_staff", dossier_of(world.edu)).get_data(as_text=True)
    overdue = re.search(r'id="dossier-overdue".*?</table>', html, re.S).group(0)
    assert f"/rectifications/{late.public_id}" in overdue
    # The inspection office follows the progress of the item of the finding shared with it,
    # through the finding; not the audit bureau's other item.
    figures = queries.rectification_figures(world.insp_staff, world.edu)
    assert (figures.items, figures.overdue) == (1, 1)
    html = page("insp_staff", dossier_of(world.edu)).get_data(as_text=True)
    overdue = re.search(r'id="dossier-overdue".*?</table>', html, re.S).group(0)
    assert f"/findings/{late.finding.public_id}" in overdue
    assert "/rectifications/" not in overdue
    assert queries.rectification_figures(world.org_staff, world.edu).items == 0


# --- who may open it ------------------------------------------------------------------------

@pytest.mark.parametrize("url", ["/units", "/units/edu/dossier", "/units/nowhere/dossier"])
def test_the_unit_contact_and_the_administrators_are_refused(world, new_client, url):
    finding_for(world)
    contact = new_client()
    contact.sign_in(world.unit_contact.username)
    response = contact.get(url)
    assert response.status_code == 404  # for an audited unit the case pages do not exist
    assert "违规发放津补贴" not in page_text(response)
    for role in ("sysadmin", "secadmin", "auditadmin"):
        admin = new_client()
        admin.sign_in(UserFactory(roles=[role]).username)
        assert admin.get(url).status_code == 403, role
    assert new_client().get(url).status_code == 302  # to the sign-in page


def test_a_unit_without_records_shows_an_empty_dossier_and_other_codes_404(world, page):
    finding = finding_for(world, title="审计局的问题")
    sent_referral(world, S.SENT, [finding], title="审计局的移送")
    rectification_in(world, R.IN_PROGRESS, finding=finding_for(world))

    about_edu = page("org_staff", dossier_of(world.edu))
    about_health = page("org_staff", dossier_of(world.health))  # nobody has records about it
    assert about_edu.status_code == about_health.status_code == 200
    assert 'id="dossier-empty"' in about_edu.get_data(as_text=True)

    def without_unit(response, unit):
        # The forms' CSRF tokens carry the second they were made: not part of the comparison.
        html = re.sub(r'(name="csrf_token"[^>]*value=|value=)"[\w.-]{40,}"', r'\1"TOKEN"',
                      response.get_data(as_text=True))
        return html.replace(unit.name, "UNIT").replace(unit.code, "CODE")

    # Whether other agencies have records about a unit cannot be told from its dossier.
    assert without_unit(about_edu, world.edu) == without_unit(about_health, world.health)

    assert page("org_staff", "/units/no-such-unit/dossier").status_code == 404
    assert page("org_staff", f"/units/{world.audit.code}/dossier").status_code == 404


def test_the_unit_picker_lists_the_units_the_agency_has_records_about(world, page):
    finding = finding_for(world)
    shared_with(finding, world.inspection)
    finding_for(world, unit=world.health)
    sent_referral(world, S.SENT, [finding_for(world, unit=world.health)])

    def listed(name, query=""):
        html = page(name, "/units" + query).get_data(as_text=True)
        return re.findall(r'href="/units/([^/"]+)/dossier"', html)

    assert sorted(listed("audit_staff")) == ["edu", "health"]
    assert listed("insp_staff") == ["edu"]
    assert listed("disc_staff") == ["health"]  # through the referral it received
    assert listed("org_staff") == []
    assert listed("audit_staff", "?q=卫健") == ["health"]
    assert listed("audit_staff", "?q=%25") == []  # a LIKE wildcard is a character here
    assert page("audit_staff", "/units?q=" + "长" * 101).status_code == 400


def test_the_finding_page_and_the_list_lead_to_the_dossier(world, page):
    finding = finding_for(world)
    html = page("audit_staff", f"/findings/{finding.public_id}").get_data(as_text=True)
    assert 'href="/units/edu/dossier"' in html
    html = page("audit_staff", "/findings?unit=edu").get_data(as_text=True)
    assert 'href="/units/edu/dossier"' in html and 'href="/units"' in html


# --- bounded cost ---------------------------------------------------------------------------

def _grow(world, n: int, now) -> None:
    """n more of every kind of record about the unit, seen by the audit bureau and the
    inspection office: findings across years and categories, shares, rectification (some
    overdue, some signed off and found again), referrals of both."""
    categories = ["allowances", "three_public", "budget", "procurement"]
    for i in range(n):
        category = categories[i % len(categories)]
        first = _signed_off(world, at=now - timedelta(days=400 + i), category=category,
                            title=f"首次{i}")
        again = finding_for(world, category_code=category, title=f"再次{i}",
                            created_at=now - timedelta(days=30 + 120 * (i % 3)))
        for f in (first, again):
            shared_with(f, world.inspection)
        rectification_in(world, R.NOT_STARTED, finding=again, issued_at=now - timedelta(days=90),
                         due_at=now - timedelta(days=5))
        sent_referral(world, S.ANSWERED, [again], title=f"审计局移送{i}")
        own = FindingFactory(owner_agency=world.inspection, unit=world.edu,
                             created_by=world.insp_staff, title=f"巡察发现{i}",
                             category_code=category)
        sent_referral(world, S.SENT, [own], title=f"巡察办移送{i}",
                      sender_agency=world.inspection, created_by=world.insp_staff)


def test_the_dossier_costs_the_same_statements_for_many_records_as_for_few(world, new_client,
                                                                         count_queries):
    now = now_utc()
    readers = {}
    for name in ("audit_staff", "insp_staff", "disc_staff", "org_staff"):
        readers[name] = new_client()
        readers[name].sign_in(getattr(world, name).username)

    def statements():
        counted = {}
        for name, client in readers.items():
            with count_queries() as run:
                assert client.get(dossier_of(world.edu)).status_code == 200
            counted[name] = len(run)
        with count_queries() as run:
            assert readers["audit_staff"].get("/units").status_code == 200
        counted["units"] = len(run)
        return counted

    _grow(world, 2, now)
    few = statements()
    _grow(world, 25, now)  # past every list's cap
    many = statements()
    assert few == many
    assert max(many.values()) <= 30
    figures = queries.repeat_figures(world.audit_staff, world.edu)
    assert figures.total == 27 and len(figures.latest) == queries.LIST_ROWS
