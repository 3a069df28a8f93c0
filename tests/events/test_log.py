"""The event log: chained, keyed, append-only; verify-events names the first bad row."""

import pytest
import sqlalchemy as sa

from supervise.events.log import record_event, verify_chain
from supervise.events.models import Event, EventChainHead
from supervise.extensions import db
from tests.conftest import page_text
from tests.factories import UserFactory
from tests.helpers import events


@pytest.fixture
def log(app):
    """Ten events, committed."""
    user = UserFactory(username="writer")
    for i in range(10):
        record_event("test.event", actor=user, obj=user, details={"i": i})
    db.session.commit()
    return user


def verify(app):
    result = app.test_cli_runner().invoke(args=["verify-events"])
    return result.exit_code, result.output


def test_intact_log_verifies(app, log):
    code, output = verify(app)
    assert code == 0, output
    assert "10 events" in output


def test_empty_log_verifies(app):
    assert verify(app)[0] == 0


def test_edited_row_is_detected(app, log):
    db.session.execute(sa.update(Event).where(Event.seq == 4)
                       .values(details='{"i": 99}'))
    db.session.commit()
    code, output = verify(app)
    assert code == 1
    assert "#4" in output and "hash" in output


def test_edited_row_with_recomputed_unkeyed_hash_is_detected(app, log):
    """Without the key, an attacker cannot make a matching hash."""
    import hashlib

    db.session.execute(sa.update(Event).where(Event.seq == 10).values(
        actor_username="someone-else",
        hash=hashlib.sha256(b"forged").hexdigest()))
    db.session.commit()
    code, output = verify(app)
    assert code == 1 and "#10" in output


def test_deleted_row_is_detected(app, log):
    db.session.execute(sa.delete(Event).where(Event.seq == 6))
    db.session.commit()
    code, output = verify(app)
    assert code == 1
    assert "#7" in output and "missing" in output


def test_deleted_last_row_is_detected(app, log):
    db.session.execute(sa.delete(Event).where(Event.seq == 10))
    db.session.commit()
    code, output = verify(app)
    assert code == 1
    assert "removed" in output


def test_deleted_last_row_with_head_rewound_is_detected(app, log):
    previous = db.session.get(Event, 9)
    db.session.execute(sa.delete(Event).where(Event.seq == 10))
    db.session.execute(sa.update(EventChainHead).values(seq=9, hash=previous.hash))
    db.session.commit()
    code, output = verify(app)
    assert code == 1
    assert "seal" in output


def test_inserted_row_is_detected(app, log):
    row = db.session.get(Event, 5)
    db.session.execute(sa.update(Event).where(Event.seq > 5).values(seq=Event.seq + 1000))
    db.session.flush()
    db.session.execute(sa.update(Event).where(Event.seq > 1000).values(seq=Event.seq - 999))
    db.session.add(Event(seq=6, occurred_at=row.occurred_at, action="forged.event",
                         outcome="success", details="{}", prev_hash=row.hash, hash="0" * 64))
    db.session.commit()
    code, output = verify(app)
    assert code == 1
    assert "#6" in output


def test_reordered_rows_are_detected(app, log):
    db.session.execute(sa.update(Event).where(Event.seq == 3).values(seq=-3))
    db.session.execute(sa.update(Event).where(Event.seq == 4).values(seq=3))
    db.session.execute(sa.update(Event).where(Event.seq == -3).values(seq=4))
    db.session.commit()
    code, output = verify(app)
    assert code == 1
    assert "#3" in output


def test_events_are_part_of_the_transaction_of_their_change(app, log):
    user = UserFactory()
    record_event("test.rolled_back", actor=user)
    db.session.rollback()
    assert events("test.rolled_back") == []
    assert verify_chain()[1] is None
    record_event("test.after_rollback", actor=user)
    db.session.commit()
    assert verify_chain() == (11, None)


def test_secrets_never_enter_the_details():
    with pytest.raises(ValueError):
        record_event("test.leak", details={"password": "x"})
    with pytest.raises(ValueError):
        record_event("test.leak", details={"persons_involved": ["张三"]})


def test_sign_in_activity_is_recorded_with_ip_and_outcome(client):
    UserFactory(username="wang")
    client.sign_in("wang", "wrong")
    client.sign_in("wang")
    client.post_form("/logout")
    rows = [(e.action, e.outcome, e.ip) for e in events()[-3:]]
    assert rows == [("auth.sign_in", "failure", "127.0.0.1"),
                    ("auth.sign_in", "success", "127.0.0.1"),
                    ("auth.sign_out", "success", "127.0.0.1")]


def test_audit_admin_reads_and_filters_the_log(client):
    UserFactory(username="auditor", roles=["auditadmin"])
    UserFactory(username="wang")
    client.sign_in("wang", "wrong")
    client.sign_in("auditor")
    page = page_text(client.get("/audit/events"))
    assert "auditor" in page and "auth.sign_in" not in page  # words, not codes (test_words)
    filtered = client.get("/audit/events", query_string={"outcome": "failure"})
    rows = filtered.get_data(as_text=True).split("<tbody>")[1]
    assert "outcome-failure" in rows and "outcome-success" not in rows
    bad = client.get("/audit/events", query_string={"from": "26/11/2026"})
    assert "YYYY-MM-DD" in page_text(bad)


# Posts an exported file to compare with the log: it reads the log and only adds its own event.
READS_BY_POST = {"events.check_export"}


def test_nobody_can_change_events_through_the_product(app):
    for rule in app.url_map.iter_rules():
        if "event" in rule.rule and rule.endpoint not in READS_BY_POST:
            assert rule.methods <= {"GET", "HEAD", "OPTIONS"}, rule


def test_event_list_query_count_does_not_grow(client, count_queries):
    UserFactory(username="auditor", roles=["auditadmin"])
    client.sign_in("auditor")
    user = UserFactory()

    def measure():
        with count_queries() as statements:
            assert client.get("/audit/events").status_code == 200
        return len(statements)

    few = measure()
    for i in range(60):
        record_event("test.event", actor=user, details={"i": i})
    db.session.commit()
    assert measure() == few


# --- the chain's hash: SHA-256 or SM3, named by each row ----------------------------------


def _append(user, n, **details):
    for i in range(n):
        record_event("test.event", actor=user, obj=user, details={"i": i, **details})
    db.session.commit()


def _hashes():
    return [e.hash_algorithm for e in db.session.scalars(sa.select(Event).order_by(Event.seq))]


def test_an_sm3_chain_verifies_and_a_changed_row_fails(app, monkeypatch):
    from supervise.events.log import record_events

    monkeypatch.setitem(app.config, "EVENT_CHAIN_HASH", "sm3")
    user = UserFactory(username="writer")
    _append(user, 5)
    record_events([{"action": "test.swept", "object_type": "users", "object_id": "x",
                    "details": {"n": n}} for n in range(3)])
    db.session.commit()
    assert _hashes() == ["sm3"] * 8
    assert verify(app)[0] == 0
    assert verify_chain() == (8, None)
    db.session.execute(sa.update(Event).where(Event.seq == 7).values(details='{"n": 9}'))
    db.session.commit()
    code, output = verify(app)
    assert code == 1 and "#7" in output and "hash" in output


def test_a_chain_that_switched_midway_verifies_whatever_the_setting_is_now(app, monkeypatch):
    user = UserFactory(username="writer")
    _append(user, 3)  # sha256, the default
    monkeypatch.setitem(app.config, "EVENT_CHAIN_HASH", "sm3")
    _append(user, 3)
    monkeypatch.setitem(app.config, "EVENT_CHAIN_HASH", "sha256")
    _append(user, 2)
    assert _hashes() == ["sha256"] * 3 + ["sm3"] * 3 + ["sha256"] * 2
    assert verify_chain() == (8, None)
    monkeypatch.setitem(app.config, "EVENT_CHAIN_HASH", "sm3")
    assert verify_chain() == (8, None)
    assert verify(app)[0] == 0


@pytest.mark.parametrize("tampered", [2, 5])  # a SHA-256 row, an SM3 row
def test_a_changed_row_of_a_mixed_chain_fails(app, monkeypatch, tampered):
    user = UserFactory(username="writer")
    _append(user, 3)
    monkeypatch.setitem(app.config, "EVENT_CHAIN_HASH", "sm3")
    _append(user, 3)
    db.session.execute(sa.update(Event).where(Event.seq == tampered)
                       .values(actor_username="someone-else"))
    db.session.commit()
    code, output = verify(app)
    assert code == 1 and f"#{tampered}" in output


def test_a_row_relabelled_to_the_other_hash_fails(app, monkeypatch):
    user = UserFactory(username="writer")
    _append(user, 3)
    db.session.execute(sa.update(Event).where(Event.seq == 2).values(hash_algorithm="sm3"))
    db.session.commit()
    assert verify_chain()[1].seq == 2
    db.session.execute(sa.update(Event).where(Event.seq == 2).values(hash_algorithm="md5"))
    db.session.commit()
    problem = verify_chain()[1]
    assert (problem.seq, problem.reason) == (2, "names no known hash algorithm")


def test_the_head_is_sealed_with_the_last_rows_hash(app, monkeypatch):
    """A cut-off tail is caught in an SM3 chain too."""
    monkeypatch.setitem(app.config, "EVENT_CHAIN_HASH", "sm3")
    user = UserFactory(username="writer")
    _append(user, 4)
    previous = db.session.get(Event, 3)
    db.session.execute(sa.delete(Event).where(Event.seq == 4))
    db.session.execute(sa.update(EventChainHead).values(seq=3, hash=previous.hash))
    db.session.commit()
    code, output = verify(app)
    assert code == 1 and "seal" in output


def test_a_long_log_is_counted_to_a_bound_and_still_pages_on(client, app, monkeypatch):
    from supervise.events import views

    monkeypatch.setattr(views, "EVENTS_COUNTED", 5)
    monkeypatch.setitem(app.config, "PAGE_SIZE", 4)
    UserFactory(username="auditor", roles=["auditadmin"])
    user = UserFactory()
    for i in range(12):
        record_event("test.event", actor=user, details={"i": i})
    db.session.commit()
    client.sign_in("auditor")
    first = page_text(client.get("/audit/events"))
    assert "超过5条" in first and "第1页" in first and "下一页" in first
    third = client.get("/audit/events", query_string={"page": 3})
    assert third.status_code == 200 and "下一页" in page_text(third)  # 13 events: page 4 has 1
    last = page_text(client.get("/audit/events", query_string={"page": 4}))
    assert "下一页" not in last and "上一页" in last
