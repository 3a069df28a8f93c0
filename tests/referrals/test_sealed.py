"""The persons involved, the commission's internal notes and the second factors' secrets are
sealed at rest (supervise.crypto): a planted name is nowhere in the stored database, a rotation
of the master key leaves everything readable, and the parties find a referral by a person's
exact name through the blind index.

The database is read as an intruder would read it: the SQLite file itself (with its journal), or
what `pg_dump` writes on PostgreSQL (the CI runs both).
"""

from __future__ import annotations

import contextvars
import json
import os
import subprocess
from pathlib import Path

import pyotp
import pytest
import sqlalchemy as sa

from supervise.accounts.models import User
from supervise.crypto import key_id_of, keyring
from supervise.events.models import Event
from supervise.extensions import db
from supervise.referrals.models import PersonInvolved, TimelineEntry
from tests.conftest import TEST_PASSWORD
from tests.factories import FindingFactory
from tests.referrals.factories import OUTSIDERS
from tests.support.twofactor import SECRET, enrol

NAME = "甄隐名ZQ4R"
POSITION = "机要科长WV8K"
NOTE = "已调取账册并约谈知情人JT2M"
TITLE = "违规发放津补贴问题线索PB6N"  # plain text: proves the scan reads what is stored
SECRETS = (NAME, POSITION, NOTE, "ZQ4R", "WV8K", "JT2M")
OTHER_KEY = "fe" * 32


def stored_bytes() -> bytes:
    """Everything the database holds, as stored: the SQLite file and its journals, or a
    pg_dump of the PostgreSQL database."""
    db.session.commit()
    url = db.engine.url
    if url.get_backend_name() == "sqlite":
        path = Path(url.database)
        return b"".join(p.read_bytes() for p in sorted(path.parent.glob(path.name + "*")))
    env = {**os.environ, "PGPASSWORD": url.password or ""}
    dump = subprocess.run(
        ["pg_dump", "--no-owner", "-h", url.host or "127.0.0.1", "-p", str(url.port or 5432),
         "-U", url.username or "postgres", url.database],
        capture_output=True, check=True, env=env, timeout=120)
    return dump.stdout


@pytest.fixture
def planted(world, as_):
    """A referral sent to the commission naming NAME (POSITION), acknowledged, with an internal
    handling note NOTE."""
    finding = FindingFactory(owner_agency=world.audit, unit=world.edu,
                             created_by=world.audit_staff)
    created = as_("audit_staff").post("/referrals", json={
        "receiver": "discipline", "kind": "clue", "title": TITLE,
        "facts": "以加班费名义违规发放津补贴。", "basis": "《审计法》第五十二条",
        "opinion": "建议依纪依法处理", "findings": [finding.public_id],
        "persons_involved": [{"name": NAME, "position": POSITION},
                             {"name": "李某某", "position": "科员"}]})
    assert created.status_code == 201
    rid = created.get_json()["id"]
    assert as_("audit_staff").post(f"/referrals/{rid}/submit").status_code == 200
    assert as_("audit_leader").post(f"/referrals/{rid}/approve",
                                    json={"comment": "同意"}).status_code == 200
    assert as_("disc_staff").post(f"/referrals/{rid}/acknowledge").status_code == 200
    assert as_("disc_staff").post(f"/referrals/{rid}/note",
                                  json={"comment": NOTE}).status_code == 200
    return rid


def reads_in_full(caller, rid) -> None:
    detail = caller.get(f"/referrals/{rid}").get_json()
    assert {"name": NAME, "position": POSITION} in [
        {k: p[k] for k in ("name", "position")} for p in detail["persons_involved"]]
    assert NOTE in json.dumps(detail["timeline"], ensure_ascii=False)


def test_a_planted_name_is_nowhere_in_the_stored_database(planted, as_, world, client):
    reads_in_full(as_("disc_staff"), planted)
    otp_secret = pyotp.random_base32()
    enrol(world.disc_leader, otp_secret)
    db.session.commit()
    client.post_form("/login", {"username": "disc.leader", "password": TEST_PASSWORD})
    assert client.post_form("/login/code", {
        "code": pyotp.TOTP(otp_secret).now()}).status_code == 302
    stored = stored_bytes()
    assert TITLE.encode() in stored, "the scan reads the stored data"
    for secret in (*SECRETS, otp_secret):
        assert secret.encode() not in stored, secret
        assert secret.encode("utf-16-le") not in stored, secret


def invoke(app, *args):
    """`flask ARGS` for `app` (in a context of its own: the command takes the application
    that is current, and the test's is)."""
    return contextvars.Context().run(app.test_cli_runner().invoke, args=list(args))


def run_in_app(app, work):
    """`work()` inside an application context of `app`, apart from the test's own."""
    def run():
        with app.app_context():
            return work()
    return contextvars.Context().run(run)


def sealed_key_ids() -> set[str]:
    texts = db.session.scalars(sa.select(PersonInvolved.sealed_name)).all()
    texts += db.session.scalars(sa.select(PersonInvolved.sealed_title)).all()
    texts += db.session.scalars(sa.select(User.sealed_otp_secret).where(
        User.sealed_otp_secret.is_not(None))).all()
    texts += db.session.scalars(sa.select(TimelineEntry.stored_comment).where(
        TimelineEntry.internal.is_(True))).all()
    return {key_id_of(text) for text in texts}


def test_everything_reads_back_after_a_rotation(planted, as_, app, app_factory, world):
    enrol(world.disc_leader)
    db.session.commit()
    old_key = app.config["DATA_KEY"]
    old_id = keyring().current.id
    assert sealed_key_ids() == {old_id}
    # The application runs on with the new key and the old one retired, then the rotation.
    rotated = app_factory(DATA_KEY=OTHER_KEY, DATA_KEYS_RETIRED=[old_key])
    result = invoke(rotated, "rotate-data-key", "--batch-size", "1")
    assert result.exit_code == 0, result.output
    new_id = run_in_app(rotated, lambda: keyring().current.id)
    assert new_id != old_id and f"wrapped under key {new_id}" in result.output
    db.session.expire_all()
    assert sealed_key_ids() == {new_id}
    # Again: nothing left to do.
    again = invoke(rotated, "rotate-data-key")
    assert again.exit_code == 0 and "0 row(s) changed" in again.output

    # Only the new key is needed now: everything opens, and the name is found by its index.
    only_new = app_factory(DATA_KEY=OTHER_KEY, DATA_KEYS_RETIRED=[])

    def read_back():
        from tests.support.api import Caller

        db.session.expire_all()
        client = only_new.test_client()
        for name in ("disc_staff", "audit_staff"):
            user = db.session.merge(getattr(world, name))
            caller = Caller(client, user)
            if name == "disc_staff":
                reads_in_full(caller, planted)
            found = caller.post("/referral-lookups", json={"name": NAME})
            assert [item["id"] for item in found.get_json()["items"]] == [planted]
        assert db.session.merge(world.disc_leader).otp_secret == SECRET
    run_in_app(only_new, read_back)
    stored = stored_bytes()
    for secret in SECRETS:
        assert secret.encode() not in stored, secret


def test_a_rotation_without_the_old_key_is_refused_and_changes_nothing(planted, app_factory):
    before = db.session.execute(sa.select(PersonInvolved.sealed_name, PersonInvolved.name_index)
                                .order_by(PersonInvolved.id)).all()
    wrong = app_factory(DATA_KEY=OTHER_KEY, DATA_KEYS_RETIRED=["ab" * 32])
    result = invoke(wrong, "rotate-data-key")
    assert result.exit_code != 0
    assert "Rotation refused, nothing was changed" in result.output
    assert "DATA_KEYS_RETIRED" in result.output
    for secret in SECRETS:
        assert secret not in result.output
    db.session.expire_all()
    assert db.session.execute(sa.select(PersonInvolved.sealed_name, PersonInvolved.name_index)
                              .order_by(PersonInvolved.id)).all() == before


def test_the_parties_find_a_referral_by_a_persons_exact_name(planted, as_, client, world):
    for name in ("audit_staff", "audit_leader", "disc_staff", "disc_leader"):
        found = as_(name).post("/referral-lookups", json={"name": f" {NAME} "})
        assert found.status_code == 200
        assert [item["id"] for item in found.get_json()["items"]] == [planted], name
        assert found.get_json()["total"] == 1
        # A part of the name is not the name.
        assert as_(name).post("/referral-lookups",
                              json={"name": NAME[:-1]}).get_json()["total"] == 0
    for name in OUTSIDERS:
        answer = as_(name).post("/referral-lookups", json={"name": NAME})
        assert answer.status_code in (200, 403), name
        if answer.status_code == 200:
            assert answer.get_json()["total"] == 0 and planted not in answer.get_data(True)
    for bad in ("", "   ", "名" * 51, 5, None, ["x"]):
        answer = as_("disc_staff").post("/referral-lookups", json={"name": bad})
        assert answer.status_code == 422, bad
    # The page, by a form post (the name never in a URL).
    client.sign_in("disc.staff")
    page = client.post_form("/referrals/named", {"name": NAME})
    assert page.status_code == 200 and TITLE in page.get_data(as_text=True)
    # Each lookup is recorded with what it found, never with the name.
    lookups = db.session.scalars(sa.select(Event).where(
        Event.action == "referral.person_lookup")).all()
    assert lookups
    for event in lookups:
        row = " ".join(str(getattr(event, c.key)) for c in sa.inspect(Event).column_attrs)
        assert not any(secret in row for secret in SECRETS)
