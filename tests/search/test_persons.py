"""The persons involved in search: a party to a referral (who may read its persons) finds it by
a person's exact name and reads the name masked; anyone else gets no result and no trace of the
person, by the page or the API, whatever else of the referral's findings they may see."""

from __future__ import annotations

import json

import pytest

from supervise.extensions import db
from supervise.referrals.models import ReferralState
from tests.factories import ShareFactory
from tests.helpers import events
from tests.rectifications.factories import finding_for
from tests.referrals.factories import referral_in

NAME = "欧阳振华"
UNUSED = "司马青云"  # named in no referral
PARTIES = ("audit_staff", "audit_leader", "disc_staff", "disc_leader")
OTHERS = ("insp_staff", "org_staff", "audit2_staff", "unit_contact", "unit2_contact")


@pytest.fixture
def referral(world):
    """A clue sent by the audit bureau to the commission, naming two persons; neither name is in
    its title or facts. Its finding is shared with the inspection office."""
    finding = finding_for(world, title="违规发放津补贴问题", facts="以加班费名义违规发放津补贴。")
    ShareFactory(finding=finding, agency=world.inspection, shared_by=world.audit_staff)
    ShareFactory(finding=finding, agency=world.org, shared_by=world.audit_staff)
    made = referral_in(world, ReferralState.ACKNOWLEDGED, title="关于违规发放津补贴问题线索的移送",
                       persons=((NAME, "校长"), ("李明", "会计")), findings=[finding])
    db.session.commit()
    return made


def api_search(caller, q) -> dict:
    response = caller.get("/search", query_string={"q": q})
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def page_search(new_client, user, q) -> str:
    client = new_client()
    client.sign_in(user.username)
    response = client.post_form("/search", {"q": q})
    assert response.status_code == 200
    return response.get_data(as_text=True)


def without_query(answer, q) -> str:
    """The answer with the caller's own query taken out (the box shows what was typed)."""
    if isinstance(answer, dict):
        answer = json.dumps({k: v for k, v in answer.items() if k != "q"}, ensure_ascii=False)
    return answer.replace(f'value="{q}"', 'value=""')


@pytest.mark.parametrize("who", PARTIES)
def test_a_party_finds_the_referral_by_a_persons_name_masked(world, as_, new_client, referral,
                                                             who):
    answer = api_search(as_(who), NAME)
    [item] = answer["items"]
    assert item["id"] == referral.public_id and item["kind"] == "referral"
    assert item["matched"] == ["person"]
    assert item["persons_involved"] == ["欧***"]
    assert NAME not in without_query(answer, NAME)
    assert "李明" not in json.dumps(answer, ensure_ascii=False)  # the other person: not named
    html = page_search(new_client, getattr(world, who), NAME)
    assert referral.title in html and "欧***" in html
    assert NAME not in without_query(html, NAME)


def test_a_person_is_found_by_the_exact_name_only(world, as_, referral):
    staff = as_("audit_staff")
    assert api_search(staff, "欧阳 振华")["total"] == 1  # spaces aside, as names compare
    for part in ("欧阳振", "阳振华", "欧阳", "振华", "欧阳振华 校长"):
        assert api_search(staff, part)["total"] == 0, part


def test_a_lookup_by_name_is_recorded_without_the_name(world, as_, referral):
    api_search(as_("disc_staff"), NAME)
    [event] = events("referral.person_lookup")
    assert event.actor_id == world.disc_staff.id and json.loads(event.details) == {"found": 1}
    stored = {column.name: getattr(event, column.key, None) for column in event.__table__.columns}
    assert NAME not in repr(stored)
    api_search(as_("disc_staff"), "违规发放")  # no person named: nothing to record
    assert len(events("referral.person_lookup")) == 1


@pytest.mark.parametrize("who", OTHERS)
def test_anyone_else_gets_no_result_and_no_trace(world, as_, new_client, referral, who):
    """Not the inspection office or the organisation department, who see the finding the
    referral was made from; not the audited unit; not another audit bureau. Their answer for the
    name is the answer for a name nobody has."""
    caller = as_(who)
    answer = api_search(caller, NAME)
    assert answer["total"] == 0 and answer["items"] == []
    assert without_query(answer, NAME) == without_query(api_search(caller, UNUSED), UNUSED)
    html = page_search(new_client, getattr(world, who), NAME)
    assert NAME not in without_query(html, NAME) and "欧***" not in html
    assert referral.title not in html
    assert events("referral.person_lookup") == []


STATES = [ReferralState.DRAFT, ReferralState.PENDING_APPROVAL, ReferralState.SENT,
          ReferralState.IN_HANDLING, ReferralState.ANSWERED, ReferralState.CLOSED,
          ReferralState.RETURNED]


@pytest.mark.parametrize("state", STATES)
def test_found_by_name_exactly_by_those_who_may_open_the_referral(world, as_, state):
    """Whoever the referral's page shows the persons to finds it by a name, in every state of
    its life; nobody else does (the receiver before the sending, for one)."""
    referral = referral_in(world, state, persons=((NAME, "校长"),))
    db.session.commit()
    for who in (*PARTIES, *OTHERS):
        caller = as_(who)
        opens = caller.get(f"/referrals/{referral.public_id}").status_code == 200
        ids = [i["id"] for i in api_search(caller, NAME)["items"]]
        assert ids == ([referral.public_id] if opens else []), (who, state)
        if opens:
            assert who in PARTIES


def test_the_name_is_in_no_search_table(world, as_, referral):
    """The text index holds titles and facts; a person's name is only in its sealed column and
    its blind index (tests/referrals/test_sealed.py scans the whole database file)."""
    import sqlalchemy as sa

    if db.engine.dialect.name != "sqlite":
        pytest.skip("SQLite's FTS tables; PostgreSQL indexes only the records' own columns")
    for table in ("referrals_fts_data", "findings_fts_data", "rectifications_fts_data"):
        blobs = db.session.scalars(sa.text(f"SELECT block FROM {table}")).all()  # noqa: S608
        assert all(NAME.encode() not in (b or b"") and "欧阳振".encode() not in (b or b"")
                   for b in blobs), table
