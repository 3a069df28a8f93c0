"""Notifications by email, through a real SMTP server started here: one message per delivery,
in the recipient's language, with nothing of the case in it; preferences; a server that is down
or refuses; a recipient disabled; several workers at once."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa

from supervise.database import now_utc
from supervise.extensions import db
from supervise.notifications import delivery
from supervise.notifications.models import EmailState, Kind, Notification
from supervise.notifications.outbox import notify
from tests.helpers import race
from tests.referrals import factories as referrals
from tests.referrals.factories import S, api_step
from tests.support.smtp import SmtpServer

PERSON, FACT, TITLE = "甲标记人名", "乙标记事实", "丙标记标题"


@pytest.fixture
def smtp(app):
    server = SmtpServer()
    server.start()
    saved = {k: app.config[k] for k in ("SMTP_HOST", "SMTP_PORT", "PUBLIC_URL", "MAIL_FROM")}
    app.config.update(SMTP_HOST="127.0.0.1", SMTP_PORT=server.port,
                      PUBLIC_URL="https://supervise.example.gov.cn",
                      MAIL_FROM="noreply@supervise.example.gov.cn")
    try:
        yield server
    finally:
        server.stop()
        app.config.update(saved)


@pytest.fixture
def addressed(world):
    for name, locale in (("audit_staff", None), ("audit_leader", "en"), ("disc_staff", None),
                         ("disc_leader", None)):
        user = getattr(world, name)
        user.email, user.locale = f"{user.username}@example.gov.cn", locale
    db.session.commit()
    return world


def emails() -> list[Notification]:
    db.session.expire_all()
    return list(db.session.scalars(sa.select(Notification).where(
        Notification.email_state.is_not(None)).order_by(Notification.id)))


def test_a_step_emails_each_recipient_once_and_says_nothing_of_the_case(
        smtp, addressed, as_):
    world = addressed
    referral = referrals.referral_in(world, S.PENDING_APPROVAL, title=TITLE,
                                     persons=[(PERSON, "校长")], facts=FACT)
    assert as_("audit_leader").post(f"/referrals/{referral.public_id}/approve",
                                    json={}).status_code == 200
    assert [n.email_state for n in emails()] == [EmailState.PENDING] * 2
    assert delivery.deliver()[EmailState.SENT] == 2
    assert delivery.deliver().counts == {}  # nothing twice
    [message] = smtp.inbox.to("disc.staff@example.gov.cn")
    assert len(smtp.inbox.messages) == 2
    row = next(n for n in emails() if n.recipient_id == world.disc_staff.id)
    assert message["Subject"] == "[联动监督协作平台] 收到移送事项"
    assert message["Message-ID"] == f"<notification.{row.public_id}@supervise.example.gov.cn>"
    text = message.get_body(("plain",)).get_content()
    html = message.get_body(("html",)).get_content()
    link = f"https://supervise.example.gov.cn/notifications/{row.public_id}"
    assert link in text and f'href="{link}"' in html
    for marker in (PERSON, FACT, TITLE, referral.public_id):
        assert marker not in message.as_string() and marker not in text + html
    assert row.email_state == EmailState.SENT and row.email_sent_at is not None


def test_in_the_recipients_language(smtp, addressed, as_):
    world = addressed
    referral = referrals.referral_in(world, S.SENT)
    assert as_("disc_staff").post(f"/referrals/{referral.public_id}/acknowledge",
                                  json={}).status_code == 200
    world.audit_staff.locale = "en"
    db.session.commit()
    delivery.deliver()
    [message] = smtp.inbox.to("audit.staff@example.gov.cn")
    assert message["Subject"] == "[Joint supervision platform] Referral acknowledged"
    assert "You have a new notification" in message.get_body(("plain",)).get_content()


def test_no_address_or_mail_off_means_in_app_only(app, smtp, world, as_):
    referral = referrals.referral_in(world, S.SENT)
    as_("disc_staff").post(f"/referrals/{referral.public_id}/acknowledge", json={})
    assert emails() == []
    world.audit_staff.email = "audit.staff@example.gov.cn"
    db.session.commit()
    app.config["SMTP_HOST"] = ""
    as_("disc_staff").post(f"/referrals/{referral.public_id}/chasers", json={"comment": "x"})
    as_("audit_staff").post(f"/referrals/{referral.public_id}/chasers", json={"comment": "x"})
    assert emails() == [] and delivery.deliver().counts == {}


def test_a_kind_turned_off_is_not_emailed(smtp, addressed, as_):
    kinds = [k.value for k in Kind if k != Kind.ACKNOWLEDGED]
    response = as_("audit_staff").put("/notifications/preferences",
                                      json={"email": "audit.staff@example.gov.cn",
                                            "email_kinds": kinds})
    assert response.status_code == 200 and "acknowledged" not in response.get_json()[
        "email_kinds"]
    for state in (S.SENT, S.IN_HANDLING):
        referrals.referral_in(addressed, state)
    sent, handling = db.session.scalars(sa.select(referrals.Referral).order_by(
        referrals.Referral.id)).all()
    as_("disc_staff").post(f"/referrals/{sent.public_id}/acknowledge", json={})
    url, body, _ = api_step(referrals.Action.ANSWER, handling)
    as_("disc_staff").post(url, json=body)
    assert [(n.kind, n.email_state) for n in emails()] == [(Kind.ANSWERED, EmailState.PENDING)]


@pytest.mark.parametrize("body", [
    {"email": "x@example.gov.cn", "email_kinds": ["acknowledged", "no_such_kind"]},
    {"email": "x@example.gov.cn", "email_kinds": "acknowledged"},
    {"email": "not an address", "email_kinds": []},
])
def test_bad_preferences_are_refused_and_change_nothing(world, as_, body):
    before = as_("audit_staff").get("/notifications/preferences").get_json()
    response = as_("audit_staff").put("/notifications/preferences", json=body,
                                      headers={"Accept-Language": "en"})
    assert response.status_code in (400, 422), response.get_json()
    if "no_such_kind" in str(body):
        assert response.status_code == 400
        assert response.get_json()["message"] == "Unknown kind of notification: no_such_kind"
    assert as_("audit_staff").get("/notifications/preferences").get_json() == before


def test_the_preferences_page(app, world):
    client = app.test_client()
    assert client.sign_in("audit.staff").status_code == 302
    assert client.get("/notifications/preferences").status_code == 200
    bad = client.post_form("/notifications/preferences", {"email": "nope", "kinds": ["chased"]})
    assert bad.status_code == 422
    good = client.post_form("/notifications/preferences",
                            {"email": " Audit.Staff@Example.GOV.cn ", "kinds": ["chased"]})
    assert good.status_code == 302
    db.session.expire_all()
    assert world.audit_staff.email == "Audit.Staff@example.gov.cn"
    from supervise.notifications.preferences import email_kinds
    assert email_kinds(world.audit_staff) == {Kind.CHASED}


def _pending(world, n: int, user=None) -> list[Notification]:
    referral = referrals.referral_in(world, S.SENT)
    user = user or world.disc_staff
    rows = []
    for _ in range(n):
        rows += notify(Kind.CHASED, "referral", referral, [user])
    db.session.commit()
    return rows


def test_a_server_down_loses_nothing_and_delivers_when_back(smtp, addressed):
    rows = _pending(addressed, 3)
    smtp.stop()
    result = delivery.deliver()
    assert result[EmailState.PENDING] == 3
    waiting = emails()
    assert {n.email_state for n in waiting} == {EmailState.PENDING}
    assert {n.email_attempts for n in waiting} == {1}
    assert all(n.email_next_at > now_utc() for n in waiting)
    assert delivery.deliver().counts == {}  # not due again yet
    smtp.start()
    later = now_utc() + timedelta(minutes=5)
    assert delivery.deliver(now=later)[EmailState.SENT] == 3
    ids = sorted(m["Message-ID"] for m in smtp.inbox.messages)
    assert ids == sorted(f"<notification.{r.public_id}@supervise.example.gov.cn>" for r in rows)


def test_a_refusal_is_final_a_temporary_one_is_retried(smtp, addressed):
    smtp.inbox.refuse = {"disc.staff@example.gov.cn": "550 5.1.1 No such user",
                         "disc.leader@example.gov.cn": "451 4.3.0 Try again later"}
    _pending(addressed, 1)
    _pending(addressed, 1, addressed.disc_leader)
    _pending(addressed, 1, addressed.audit_staff)
    result = delivery.deliver()
    assert (result[EmailState.FAILED], result[EmailState.PENDING], result[EmailState.SENT]) == \
        (1, 1, 1)
    states = {n.recipient_id: (n.email_state, n.email_error) for n in emails()}
    assert states[addressed.disc_staff.id] == (EmailState.FAILED, "SMTP 550")
    assert states[addressed.disc_leader.id] == (EmailState.PENDING, "SMTP 451")


def test_a_recipient_disabled_before_delivery_is_skipped(smtp, addressed):
    _pending(addressed, 1)
    addressed.disc_staff.active = False
    db.session.commit()
    assert delivery.deliver()[EmailState.SKIPPED] == 1
    [row] = emails()
    assert (row.email_state, row.email_error) == (EmailState.SKIPPED, "recipient disabled")
    assert smtp.inbox.messages == []


def test_a_worker_that_died_mid_send_is_taken_over_after_its_lease(smtp, addressed):
    [row] = _pending(addressed, 1)
    db.session.execute(sa.update(Notification).where(Notification.id == row.id).values(
        email_state=EmailState.SENDING, email_next_at=now_utc() + delivery.LEASE))
    db.session.commit()
    assert delivery.deliver().counts == {}  # still leased
    assert delivery.deliver(now=now_utc() + delivery.LEASE * 2)[EmailState.SENT] == 1


def test_two_workers_at_once_send_each_delivery_once(app, smtp, addressed):
    _pending(addressed, 40)

    def worker():
        with app.app_context():
            total = 0
            while (done := delivery.deliver(limit=7)).counts:
                total += done[EmailState.SENT]
            db.session.remove()
            return total

    results = race([worker, worker])
    ids = [m["Message-ID"] for m in smtp.inbox.messages]
    assert len(ids) == len(set(ids)) == 40
    assert sum(results) == 40
    assert {n.email_state for n in emails()} == {EmailState.SENT}


def test_the_worker_command_sweeps_and_sends_what_is_due(app, smtp, addressed):
    """Two chasers waiting, and the referral's acknowledgement due soon (three working days
    are within the warning of five): the sweep tells both people of the commission, and all
    four emails go."""
    _pending(addressed, 2)
    result = app.test_cli_runner().invoke(args=["worker", "--once"])
    assert result.exit_code == 0, result.output
    assert result.output.splitlines() == ["Reminders raised: {'due_soon': 1}", "Emails: sent 4"]
    assert len(smtp.inbox.messages) == 4


def test_the_status_page_counts_and_shows_nothing_else(app, smtp, addressed):
    _pending(addressed, 2)
    smtp.inbox.refuse = {"disc.staff@example.gov.cn": "550 5.1.1 No such user"}
    _pending(addressed, 1, addressed.audit_staff)
    delivery.deliver()
    from tests.factories import UserFactory

    UserFactory(username="sys.admin", agency=addressed.audit, roles=["sysadmin"])
    db.session.commit()
    client = app.test_client()
    assert client.sign_in("sys.admin").status_code == 302
    page = client.get("/admin/mail").get_data(as_text=True)
    assert '<tr id="mail-failed"><td>' in page and "<td>2</td>" in page
    assert "example.gov.cn</" not in page.replace("noreply@supervise.example.gov.cn", "")
    staff = app.test_client()
    assert staff.sign_in("audit.staff").status_code == 302
    assert staff.get("/admin/mail").status_code == 403


def test_a_recipient_who_lost_access_gets_the_same_generic_email(smtp, addressed):
    """Shared with the commission, then the share withdrawn before the worker ran: the email
    still goes (it names nothing), and its link leads to a record that answers 404."""
    from tests.factories import FindingFactory, ShareFactory

    finding = FindingFactory(owner_agency=addressed.audit, unit=addressed.edu, title=TITLE)
    share = ShareFactory(finding=finding, agency=addressed.discipline)
    [row] = notify(Kind.FINDING_SHARED, "finding", finding, [addressed.disc_staff])
    share.withdrawn_at = share.shared_at
    db.session.commit()
    assert delivery.deliver()[EmailState.SENT] == 1
    [message] = smtp.inbox.messages
    assert TITLE not in message.as_string() and finding.public_id not in message.as_string()
    assert f"/notifications/{row.public_id}" in message.get_body(("plain",)).get_content()


def test_the_sweep_respects_the_kinds_turned_off(smtp, addressed, as_):
    from supervise.calendar import deadlines
    from supervise.calendar.models import load_calendar
    from supervise.reminders import sweep

    kinds = [k.value for k in Kind if k != Kind.CHASED]
    assert as_("disc_staff").put("/notifications/preferences", json={
        "email": "disc.staff@example.gov.cn", "email_kinds": kinds}).status_code == 200
    referral = referrals.referral_in(addressed, S.IN_HANDLING)
    sweep(deadlines.add_working_days(referral.answer_by, 5, load_calendar()).due_at
          + timedelta(minutes=1))
    mine = {n.kind: n.email_state for n in db.session.scalars(sa.select(Notification).where(
        Notification.recipient_id == addressed.disc_staff.id))}
    assert mine == {Kind.CHASED: None}
    leader = {n.kind: n.email_state for n in db.session.scalars(sa.select(Notification).where(
        Notification.recipient_id == addressed.audit_leader.id))}
    assert leader == {Kind.ESCALATED: EmailState.PENDING}
