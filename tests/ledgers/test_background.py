"""Ledgers built in the background: above the settings' threshold (counted with the ledger's
own filters) a request makes one export job (the same one when asked again while it lives),
answered 202 to the API and by the exports page to a browser; the worker builds the file as its
requester would read the ledger at build time, tells them (EXPORT_READY), and deletes it a day
after; only the requester downloads it (anyone else, an administrator included: 404). Under
both storage backends."""

# ruff: noqa: F811 - the fixtures imported from test_ledgers are named by the tests

from __future__ import annotations

import json
from datetime import timedelta

import pytest
import sqlalchemy as sa

from supervise.attachments import storage
from supervise.attachments.models import StoredPart
from supervise.database import now_utc
from supervise.events.models import Event
from supervise.extensions import db
from supervise.ledgers import exports
from supervise.ledgers.jobs import ExportJob, ExportState
from supervise.notifications.models import Kind, Notification
from supervise.settings.models import Setting
from tests.conftest import page_text
from tests.ledgers.test_ledgers import (  # noqa: F401 - fixtures
    Sheet,
    download,
    ledger_of,
    many,
    referrals,
    world,
)

THRESHOLD = 2


@pytest.fixture
def threshold():
    """Ledgers of more than THRESHOLD rows go to the worker."""
    db.session.add(Setting(key="export_background_rows", value=THRESHOLD))
    db.session.commit()


@pytest.fixture(params=[storage.FOLDER, storage.DATABASE])
def backend(request, app, upload_dir, monkeypatch):
    monkeypatch.setitem(app.config, "FILE_STORAGE", request.param)
    return request.param


def jobs() -> list[ExportJob]:
    db.session.expire_all()
    return list(db.session.scalars(sa.select(ExportJob).order_by(ExportJob.id)))


def actions(prefix: str = "ledger.") -> list[str]:
    db.session.expire_all()
    return list(db.session.scalars(sa.select(Event.action).where(
        Event.action.startswith(prefix)).order_by(Event.seq)))


def values(sheet: Sheet) -> list[list]:
    return [[cell.value for cell in row] for row in sheet.rows]


def synchronous(caller, ledger, **params) -> Sheet:
    """The same ledger as the request itself writes it (the threshold raised for a moment)."""
    row = db.session.get(Setting, "export_background_rows")
    row.value = 20000
    db.session.commit()
    try:
        return ledger_of(caller, ledger, **params)
    finally:
        row = db.session.get(Setting, "export_background_rows")
        row.value = THRESHOLD
        db.session.commit()


def stored_files(upload_dir) -> set[str]:
    db.session.expire_all()
    return set(db.session.scalars(sa.select(StoredPart.storage_name))) | {
        p.name for p in upload_dir.iterdir()}


def test_a_long_ledger_is_one_job_built_by_the_worker(many, threshold, as_, backend,
                                                     upload_dir):
    caller = as_("audit_staff")
    first = caller.get("/ledgers/findings.xlsx", query_string={"unit": "edu", "page": 2})
    assert first.status_code == 202, first.get_data()[:300]
    body = first.get_json()
    assert body["state"] == "pending" and body["file"] is None and body["rows"] > THRESHOLD
    assert first.headers["Location"].endswith(f"/api/v1/exports/{body['id']}")
    # Asked again with the same filters (paging is nothing to a ledger): the same job.
    again = caller.get("/ledgers/findings.xlsx", query_string={"unit": "edu", "year": ""})
    assert again.status_code == 202 and again.get_json()["id"] == body["id"]
    assert len(jobs()) == 1 and actions() == ["ledger.export_request"]
    assert caller.get(f"/exports/{body['id']}/file").status_code == 404  # not ready yet

    built = exports.build_next()
    assert built.public_id == body["id"] and built.state == ExportState.READY
    assert exports.build_next() is None  # nothing else waits
    [job] = jobs()
    assert stored_files(upload_dir) == {job.storage_name}
    if backend == storage.DATABASE:
        assert list(upload_dir.iterdir()) == []
    assert job.expires_at - job.ready_at == timedelta(hours=24)
    [told] = db.session.scalars(sa.select(Notification).where(
        Notification.kind == Kind.EXPORT_READY)).all()
    assert told.recipient_id == many.audit_staff.id and told.subject_public_id == job.public_id
    listed = caller.get("/notifications").get_json()["items"]
    assert [(n["kind"], n["url"]) for n in listed] == [("export_ready", "/exports")]
    # Ready while it lives: asked again, still the same job.
    assert caller.get("/ledgers/findings.xlsx", query_string={"unit": "edu"}).get_json()[
        "id"] == body["id"]

    status = caller.get(f"/exports/{body['id']}").get_json()
    assert status["state"] == "ready" and status["file"] == f"/api/v1/exports/{body['id']}/file"
    got, data, headers = download_export(caller, body["id"])
    assert got == 200 and "attachment" in headers["Content-Disposition"]
    assert values(Sheet(data)) == values(synchronous(caller, "findings", unit="edu"))
    assert actions() == ["ledger.export_request", "ledger.export_build",
                         "ledger.export_download", "ledger.export"]
    build_event = db.session.scalar(sa.select(Event).where(
        Event.action == "ledger.export_build"))
    assert build_event.actor_username == "audit.staff" and build_event.ip is None
    details = json.loads(build_event.details)
    assert details["export"] == body["id"]
    assert details["filter"] == {"unit": "edu", "sort": "-created_at"}


def download_export(caller, public_id):
    response = caller.get(f"/exports/{public_id}/file")
    try:
        return response.status_code, response.get_data(), response.headers.copy()
    finally:
        response.close()


def test_only_the_requester_reaches_the_job(many, threshold, as_, client):
    public_id = as_("audit_staff").get("/ledgers/findings.xlsx").get_json()["id"]
    exports.build_next()
    for other in ("audit_leader", "insp_staff", "sysadmin"):
        caller = as_(other)
        assert caller.get(f"/exports/{public_id}").status_code == 404, other
        assert download_export(caller, public_id)[0] == 404, other
        assert caller.get("/exports").get_json() == {"items": []}
    assert client.get(f"/api/v1/exports/{public_id}/file").status_code == 401
    assert actions() == ["ledger.export_request", "ledger.export_build"]


def test_the_file_is_built_with_the_requesters_reach_at_build_time(referrals, threshold, as_,
                                                                    client):
    """The persons involved exactly as the requester's own ledger names them; a requester
    disabled before the build gets a failed job and no file."""
    for who in ("audit_staff", "disc_staff"):
        caller = as_(who)
        public_id = caller.get("/ledgers/referrals.xlsx").get_json()["id"]
        assert exports.build_next().state == ExportState.READY
        sheet = Sheet(download_export(caller, public_id)[1])
        assert values(sheet) == values(synchronous(caller, "referrals")), who
        assert any(sheet.column("涉及人员"))

    caller = as_("disc_leader")
    public_id = caller.get("/ledgers/referrals.xlsx").get_json()["id"]
    referrals.disc_leader.active = False
    db.session.commit()
    failed = exports.build_next()
    assert failed.state == ExportState.FAILED and failed.storage_name is None
    assert failed.active_key is None  # the same ledger may be asked for again
    assert "ledger.export_fail" in actions()
    # The audit administrator reads why, in words.
    from tests.factories import UserFactory

    UserFactory(username="audit.admin", agency=referrals.org, roles=["auditadmin"])
    reader = client.application.test_client()
    assert reader.sign_in("audit.admin").status_code == 302
    text = page_text(reader.get("/audit/events", query_string={"action": "ledger.export_fail"}))
    assert "台账未能在后台生成" in text and "申请人已无权读取该台账" in text


def test_small_ledgers_stay_in_the_request(many, as_):
    """At the default threshold (5,000 rows) a ledger is written by the request, as before."""
    assert download(as_("audit_staff"), "findings")[0] == 200
    assert jobs() == []


def test_a_browser_is_taken_to_its_exports_page(many, threshold, client):
    assert client.sign_in("audit.staff").status_code == 302
    response = client.get("/api/v1/ledgers/findings.xlsx?unit=edu")
    assert response.status_code == 302 and response.headers["Location"].endswith("/exports")
    page = client.get("/exports")
    text = page_text(page)
    assert page.status_code == 200
    assert "正在准备" in text and "问题台账" in text and "等待生成" in text
    again = client.get("/api/v1/ledgers/findings.xlsx?unit=edu", follow_redirects=True)
    assert "已申请过" in page_text(again) and len(jobs()) == 1
    exports.build_next()
    [job] = jobs()
    page = client.get("/exports").get_data(as_text=True)
    assert f"/api/v1/exports/{job.public_id}/file" in page
    response = client.get(f"/api/v1/exports/{job.public_id}/file")
    assert response.status_code == 200
    response.close()


def test_a_day_after_it_is_ready_the_file_and_the_job_are_deleted(many, threshold, as_,
                                                                  backend, upload_dir):
    caller = as_("audit_staff")
    public_id = caller.get("/ledgers/findings.xlsx").get_json()["id"]
    exports.build_next()
    [job] = jobs()
    assert exports.sweep(job.ready_at + timedelta(hours=23)) == 0
    assert stored_files(upload_dir) == {job.storage_name}
    assert exports.sweep(job.ready_at + timedelta(hours=24, seconds=1)) == 1
    assert jobs() == [] and stored_files(upload_dir) == set()
    assert caller.get(f"/exports/{public_id}").status_code == 404
    assert actions()[-1] == "ledger.export_delete"
    # Asked again afterwards: a new job.
    assert caller.get("/ledgers/findings.xlsx").get_json()["id"] != public_id


def test_a_job_is_claimed_by_one_worker_and_taken_again_after_its_lease(many, threshold, as_):
    as_("audit_staff").get("/ledgers/findings.xlsx")
    now = now_utc()
    claimed = exports._claim(now)
    assert claimed is not None and exports._claim(now) is None
    assert exports._claim(now + exports.LEASE - timedelta(seconds=1)) is None
    assert exports._claim(now + exports.LEASE + timedelta(seconds=1)) == claimed
    [job] = jobs()
    assert job.attempts == 2 and job.state == ExportState.BUILDING


def test_a_build_that_fails_is_tried_again_then_fails(many, threshold, as_, monkeypatch):
    as_("audit_staff").get("/ledgers/findings.xlsx")

    def broken(*_args, **_kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(exports.api, "write", broken)
    states = [exports.build_next().state for _ in range(exports.MAX_ATTEMPTS)]
    assert states == [ExportState.PENDING] * (exports.MAX_ATTEMPTS - 1) + [ExportState.FAILED]
    assert exports.build_next() is None
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Notification).where(
        Notification.kind == Kind.EXPORT_READY)) == 0


def test_an_export_of_another_user_is_a_404_from_the_page_too(many, threshold, as_, client):
    public_id = as_("audit_staff").get("/ledgers/findings.xlsx").get_json()["id"]
    exports.build_next()
    assert client.sign_in("audit.leader").status_code == 302
    assert client.get(f"/api/v1/exports/{public_id}/file").status_code == 404
    assert public_id not in client.get("/exports").get_data(as_text=True)


def test_two_requests_at_once_make_one_job(many, threshold, as_, app, monkeypatch):
    """The second of two simultaneous requests does not see the first's job when it looks,
    and finds it when its own insert meets the unique key."""
    from supervise.ledgers import jobs as ledger_jobs

    first = as_("audit_staff").get("/ledgers/findings.xlsx").get_json()["id"]
    real_scalar = db.session.scalar
    looked = []

    def not_yet_visible(statement, *args, **kwargs):
        if not looked:
            looked.append(statement)
            return None
        return real_scalar(statement, *args, **kwargs)

    with app.test_request_context():
        user = db.session.get(type(many.audit_staff), many.audit_staff.id)
        monkeypatch.setattr(db.session, "scalar", not_yet_visible)
        job, new = ledger_jobs.request_export(
            user, "findings", {"sort": "-created_at"}, rows=9, filter_words="全部",
            filter_details={})
        monkeypatch.undo()
        db.session.commit()
    assert looked and not new and job.public_id == first
    assert len(jobs()) == 1 and actions() == ["ledger.export_request"]
