"""Referrals through the pages: the board, the inbox, the approval queue and the referral."""

import re
from types import SimpleNamespace

import pytest
import sqlalchemy as sa

from supervise.accounts.models import AgencyKind, User
from supervise.extensions import db
from supervise.findings.models import Handling
from supervise.referrals.models import Referral, ReferralState, TimelineEntry
from tests.conftest import page_text
from tests.factories import AgencyFactory, FindingFactory, ShareFactory, UserFactory

SECRET_NAME = "欧阳秘密人"


@pytest.fixture
def district():
    a = {
        "audit": AgencyFactory(code="audit", name="区审计局", kind=AgencyKind.AUDIT),
        "inspection": AgencyFactory(code="inspection", name="区委巡察办",
                                    kind=AgencyKind.INSPECTION),
        "discipline": AgencyFactory(code="discipline", name="区纪委监委",
                                    kind=AgencyKind.DISCIPLINE),
        "unit": AgencyFactory(code="unit-education", name="区教育局",
                              kind=AgencyKind.AUDITED_UNIT),
    }
    UserFactory(username="auditor", agency=a["audit"])
    UserFactory(username="audit.boss", agency=a["audit"], roles=["leader"])
    UserFactory(username="inspector", agency=a["inspection"])
    UserFactory(username="commissioner", agency=a["discipline"])
    UserFactory(username="commission.boss", agency=a["discipline"], roles=["leader"])
    UserFactory(username="contact", agency=a["unit"])
    finding = FindingFactory(owner_agency=a["audit"], unit=a["unit"], title="违规发放津补贴")
    ShareFactory(finding=finding, agency=a["inspection"], handling=Handling.READ_ONLY)
    return a, finding


def as_user(app, username):
    client = app.test_client()
    assert client.sign_in(username).status_code == 302
    return client


def draft(client, finding, **changes):
    data = {"receiver": "discipline", "kind": "clue", "title": "关于违规发放津补贴问题线索的移送",
            "facts": "以加班补助名义发放津补贴。", "persons": f"{SECRET_NAME} 财务科科长",
            "findings": [finding.public_id], **changes}
    return client.post_form("/referrals/new", data)


def the_referral() -> Referral:
    db.session.expire_all()
    return db.session.scalar(sa.select(Referral))


def act(client, referral, action, **data):
    return client.post_form(f"/referrals/{referral.public_id}/act/{action}", data)


def test_from_draft_to_closed_through_the_pages(app, district):
    _agencies, finding = district
    auditor, boss = as_user(app, "auditor"), as_user(app, "audit.boss")
    commissioner, commission_boss = as_user(app, "commissioner"), as_user(app, "commission.boss")

    form = auditor.get(f"/referrals/new?finding={finding.public_id}")
    assert "违规发放津补贴" in page_text(form)
    assert draft(auditor, finding).status_code == 302
    referral = the_referral()
    assert referral.state == ReferralState.DRAFT
    # Not yet sent: the commission does not know it exists.
    assert commissioner.get(f"/referrals/{referral.public_id}").status_code == 404

    assert act(auditor, referral, "submit").status_code == 302
    queue = page_text(boss.get("/approvals"))
    assert "关于违规发放津补贴问题线索的移送" in queue
    assert SECRET_NAME not in queue and "欧**" in queue  # masked in lists
    assert act(auditor, referral, "approve").status_code == 403  # staff may not approve
    assert act(boss, referral, "approve").status_code == 302
    assert the_referral().acknowledge_by is not None

    inbox = page_text(commissioner.get("/referrals/inbox"))
    assert "关于违规发放津补贴问题线索的移送" in inbox and SECRET_NAME not in inbox
    assert SECRET_NAME in page_text(commissioner.get(f"/referrals/{referral.public_id}"))
    assert act(commissioner, referral, "acknowledge").status_code == 302
    assert act(commissioner, referral, "acknowledge").status_code == 409
    assert act(commission_boss, referral, "assign", handler="commissioner").status_code == 302
    assert act(commissioner, referral, "note", comment="内部办理记录XYZ").status_code == 302
    assert act(commissioner, referral, "answer", disposition="", result="x").status_code == 400
    assert act(commissioner, referral, "answer", disposition="preliminary_verification",
               result="经初步核实，问题属实。").status_code == 302

    sender_view = page_text(auditor.get(f"/referrals/{referral.public_id}"))
    assert "经初步核实，问题属实。" in sender_view
    assert "内部办理记录XYZ" not in sender_view  # the commission's own notes
    assert "内部办理记录XYZ" in page_text(commissioner.get(f"/referrals/{referral.public_id}"))
    # The outcome flows back to the finding.
    finding_page = page_text(auditor.get(f"/findings/{finding.public_id}"))
    assert "关于违规发放津补贴问题线索的移送" in finding_page
    assert act(auditor, referral, "close").status_code == 302
    assert the_referral().state == ReferralState.CLOSED


def test_parties_only(app, district):
    _agencies, finding = district
    auditor = as_user(app, "auditor")
    draft(auditor, finding)
    referral = the_referral()
    act(auditor, referral, "submit")
    act(as_user(app, "audit.boss"), referral, "approve")
    inspector = as_user(app, "inspector")
    assert inspector.get(f"/referrals/{referral.public_id}").status_code == 404
    assert "关于违规发放津补贴" not in page_text(inspector.get("/referrals/inbox"))
    # The inspection office sees the finding (shared with it) but not that it was referred.
    page = page_text(inspector.get(f"/findings/{finding.public_id}"))
    assert "违规发放津补贴" in page and "关于违规发放津补贴问题线索的移送" not in page
    assert as_user(app, "contact").get(f"/referrals/{referral.public_id}").status_code == 404
    assert as_user(app, "contact").get("/referrals/inbox").status_code == 404


@pytest.mark.parametrize("changes, field", [
    ({"receiver": "unit-education"}, "receiver"),
    ({"receiver": "audit"}, "receiver"),
    ({"title": ""}, "title"),
    ({"kind": "gossip"}, "kind"),
])
def test_bad_referrals_are_refused_and_change_nothing(app, district, changes, field):
    _agencies, finding = district
    auditor = as_user(app, "auditor")
    response = draft(auditor, finding, **changes)
    assert response.status_code == 400
    assert 'class="field has-error"' in response.get_data(as_text=True)
    assert the_referral() is None


def test_a_finding_shared_read_only_cannot_be_cited(app, district):
    agencies, finding = district
    own = FindingFactory(owner_agency=agencies["inspection"], unit=agencies["unit"])
    inspector = as_user(app, "inspector")
    response = draft(inspector, own, findings=[own.public_id, finding.public_id])
    assert response.status_code == 400
    assert the_referral() is None
    assert draft(inspector, own, findings=[own.public_id]).status_code == 302


def test_the_board_counts_filters_and_chases(app, district):
    _agencies, finding = district
    auditor = as_user(app, "auditor")
    draft(auditor, finding)
    referral = the_referral()
    act(auditor, referral, "submit")
    act(as_user(app, "audit.boss"), referral, "approve")
    board = auditor.get("/referrals")
    assert board.status_code == 200
    html = board.get_data(as_text=True)
    assert re.search(r'class="tile-n">1</span>', html)
    response = auditor.post_form(f"/referrals/{referral.public_id}/act/chase",
                                 {"comment": "请尽快签收", "next": "board"})
    assert response.status_code == 302 and response.headers["Location"].startswith("/referrals")
    entries = db.session.scalars(sa.select(TimelineEntry).where(
        TimelineEntry.action == "chase")).all()
    assert [e.comment for e in entries] == ["请尽快签收"]
    assert "1" in page_text(auditor.get("/referrals"))
    assert auditor.get("/referrals?clock=overdue").status_code == 200
    bad = auditor.get("/referrals?state=lost")
    assert bad.status_code == 400 and "关于违规发放津补贴" not in page_text(bad)


def test_the_whole_board_offers_a_chaser_where_one_may_be_sent(app, district):
    """Unfiltered, the board has no arguments of its own: it still shows the chase button (it
    showed it only on a filtered board)."""
    _agencies, finding = district
    auditor = as_user(app, "auditor")
    draft(auditor, finding)
    referral = the_referral()
    assert 'class="chase-form"' not in auditor.get("/referrals").get_data(as_text=True)
    act(auditor, referral, "submit")
    act(as_user(app, "audit.boss"), referral, "approve")
    html = auditor.get("/referrals").get_data(as_text=True)
    assert f'/referrals/{referral.public_id}/act/chase"' in html


def test_a_chaser_starts_from_a_text_that_fits_and_is_not_offered_after_the_answer(
        app, district):
    from tests.referrals.factories import referral_in

    agencies, _finding = district
    auditor = as_user(app, "auditor")
    people = {u.username: u for u in db.session.scalars(sa.select(User))}
    world = SimpleNamespace(audit=agencies["audit"], discipline=agencies["discipline"],
                            audit_staff=people["auditor"], disc_staff=people["commissioner"])
    texts = {}
    for state in (ReferralState.SENT, ReferralState.ACKNOWLEDGED, ReferralState.ANSWERED):
        referral = referral_in(world, state)
        html = auditor.get(f"/referrals/{referral.public_id}").get_data(as_text=True)
        texts[state] = re.search(r'<textarea name="comment"[^>]*>([^<]*)</textarea>', html)
    assert "签收" in texts[ReferralState.SENT][1]
    assert "反馈" in texts[ReferralState.ACKNOWLEDGED][1]
    assert texts[ReferralState.ANSWERED] is None  # no chaser once answered
    board = auditor.get("/referrals").get_data(as_text=True)
    assert board.count('class="chase-form"') == 2


def test_board_runs_the_same_queries_for_5_and_50(app, district, count_queries):
    _agencies, finding = district
    auditor = as_user(app, "auditor")

    def measure():
        with count_queries() as statements:
            assert auditor.get("/referrals").status_code == 200
        return len(statements)

    for _ in range(5):
        draft(auditor, finding)
    few = measure()
    for _ in range(45):
        draft(auditor, finding)
    assert measure() == few


def test_the_inbox_has_an_all_tab_a_text_search_and_what_is_assigned_to_me(world):
    """The commission finds a referral by words of its title or facts, or among those assigned
    to the person; the tabs count within the search."""
    from supervise.referrals.models import ReferralState as S
    from tests.referrals.factories import referral_in

    referral_in(world, S.SENT, title="关于食堂采购的问题线索")
    referral_in(world, S.IN_HANDLING, title="关于工程款的问题线索", handler=world.disc_staff)
    referral_in(world, S.IN_HANDLING, title="关于公车使用的问题线索",
                handler=world.disc_leader, facts="公车私用100%属实")
    client = world.client.application.test_client()
    assert client.sign_in("disc.staff").status_code == 302

    everything = page_text(client.get("/referrals/inbox", query_string={"tab": "all"}))
    assert all(t in everything for t in ("食堂采购", "工程款", "公车使用"))
    found = client.get("/referrals/inbox", query_string={"tab": "all", "q": "食堂"})
    assert "食堂采购" in page_text(found) and "工程款" not in page_text(found)
    literal = page_text(client.get("/referrals/inbox", query_string={"tab": "all", "q": "100%"}))
    assert "公车使用" in literal and "食堂采购" not in literal
    mine = page_text(client.get("/referrals/inbox", query_string={"tab": "all", "mine": "1"}))
    assert "工程款" in mine and "公车使用" not in mine and "食堂采购" not in mine
    too_long = client.get("/referrals/inbox", query_string={"q": "长" * 201})
    assert too_long.status_code == 400 and "最多 200 个字符" in page_text(too_long)


def test_what_waits_for_approval_links_back_to_the_approvals(world):
    """A leader reaches a referral or a finding waiting for approval from the approvals queue,
    and its back link returns there; the same record, for the staff, goes back to the list."""
    from supervise.findings.models import FindingStatus
    from supervise.referrals.models import ReferralState as S
    from tests.referrals.factories import referral_in

    referral = referral_in(world, S.PENDING_APPROVAL)
    finding = FindingFactory(owner_agency=world.audit, unit=world.edu,
                             status=FindingStatus.PENDING_ISSUE, created_by=world.audit_staff)
    for username, back in (("audit.leader", "/approvals"), ("audit.staff", None)):
        client = world.client.application.test_client()
        assert client.sign_in(username).status_code == 302
        for url, otherwise in ((f"/referrals/{referral.public_id}", "/referrals"),
                               (f"/findings/{finding.public_id}", "/findings")):
            html = client.get(url).get_data(as_text=True)
            first = re.search(r'<main class="content">.*?<a href="([^"]+)"', html, re.S).group(1)
            assert first.split("?")[0] == (back or otherwise), (username, url)
