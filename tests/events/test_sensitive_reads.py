"""Reads of sensitive records are events (who, when, from where): opening a referral with its
persons involved, downloading a referral's file, exporting the referrals' ledger (it lists the
persons), looking a person up. The audit administrator filters them, exports them as .xlsx or
.csv with the chain's head, and checks an export against the log later.
"""

from __future__ import annotations

import csv
import io

import pytest
import sqlalchemy as sa
from openpyxl import load_workbook

from supervise.events.log import record_event
from supervise.events.models import Event
from supervise.extensions import db
from tests.conftest import page_text
from tests.factories import FindingFactory, UserFactory
from tests.helpers import events
from tests.support.files import PDF

READER_IP = "10.8.7.6"
FROM_THERE = {"environ_base": {"REMOTE_ADDR": READER_IP}}


@pytest.fixture
def read(world, as_, client):
    """A referral with a file, and every kind of sensitive read of it, from READER_IP; and a
    read that is not sensitive (a finding's file)."""
    finding = FindingFactory(owner_agency=world.audit, unit=world.edu,
                             created_by=world.audit_staff)
    owner = as_("audit_staff")
    rid = owner.post("/referrals", json={
        "receiver": "discipline", "kind": "clue", "title": "违规发放津补贴问题线索",
        "facts": "以加班费名义违规发放津补贴。", "opinion": "建议依纪依法处理",
        "persons_involved": [{"name": "张某某", "position": "校长"}]}).get_json()["id"]
    aid = owner.upload(f"/referrals/{rid}/attachments",
                       {"file": (PDF, "证据.pdf")}).get_json()["id"]
    fid = as_("audit_staff").upload(f"/findings/{finding.public_id}/attachments",
                                    {"file": (PDF, "底稿.pdf")}).get_json()["id"]
    assert owner.get(f"/referrals/{rid}", **FROM_THERE).status_code == 200
    download = owner.get(f"/referrals/{rid}/attachments/{aid}", **FROM_THERE)
    assert download.status_code == 200
    download.close()
    ledger = owner.get("/ledgers/referrals.xlsx", **FROM_THERE)
    assert ledger.status_code == 200
    ledger.close()
    assert owner.post("/referral-lookups", json={"name": "张某某"},
                      **FROM_THERE).status_code == 200
    client.sign_in("audit.staff")
    assert client.get(f"/referrals/{rid}", **FROM_THERE).status_code == 200
    finding_file = owner.get(f"/attachments/{fid}")
    assert finding_file.status_code == 200
    finding_file.close()
    client.post_form("/logout")
    return rid


def sensitive(action_and_type: tuple[str, str | None]) -> bool:
    return action_and_type in {("referral.read", "referrals"), ("attachment.download", "referrals"),
                               ("ledger.export", "ledger"), ("referral.person_lookup", None)}


def test_each_sensitive_read_is_an_event_saying_who_when_and_from_where(read, world):
    kinds = [(e.action, e.object_type) for e in events() if sensitive((e.action, e.object_type))]
    assert sorted(set(kinds)) == sorted({("referral.read", "referrals"),
                                         ("attachment.download", "referrals"),
                                         ("ledger.export", "ledger"),
                                         ("referral.person_lookup", None)})
    for event in events():
        if sensitive((event.action, event.object_type)):
            assert event.actor_username == "audit.staff" and event.occurred_at is not None
            assert event.ip == READER_IP
    # The page's reading counts as much as the API's.
    assert len([k for k in kinds if k == ("referral.read", "referrals")]) == 2


def test_the_audit_administrator_filters_the_sensitive_reads(read, client):
    UserFactory(username="auditor", roles=["auditadmin"])
    client.sign_in("auditor")
    page = client.get("/audit/events", query_string={"reads": "1"})
    assert page.status_code == 200
    shown = page.get_data(as_text=True).count('data-action="')
    rows = [a for a in page.get_data(as_text=True).split('data-action="')[1:]]
    actions = {row.split('"')[0] for row in rows}
    assert actions == {"referral.read", "attachment.download", "ledger.export",
                       "referral.person_lookup"}
    assert shown == 5  # two readings, one download, one ledger, one lookup
    assert READER_IP in page.get_data(as_text=True)
    unfiltered = client.get("/audit/events").get_data(as_text=True).count('data-action="')
    assert unfiltered > shown  # sign-ins, the finding's file, the drafting…
    assert "只看敏感信息查阅" in page_text(page)
    bad = client.get("/audit/events", query_string={"reads": "yes"})
    assert bad.status_code == 200 and 'data-action="' not in bad.get_data(as_text=True)


def _csv_rows(response) -> list[list[str]]:
    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    data = response.data
    response.close()
    assert data.startswith("\ufeff".encode())
    return list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))


def _upload(client, name: str, data: bytes):
    return client.post_form("/audit/events/check", {"file": (io.BytesIO(data), name)},
                            content_type="multipart/form-data")


def test_an_export_names_the_chain_head_and_checks_out_later(read, client):
    UserFactory(username="auditor", roles=["auditadmin"])
    client.sign_in("auditor")
    head = db.session.scalar(sa.select(sa.func.max(Event.seq)))
    exported = client.get("/audit/events.csv", query_string={"reads": "1"})
    raw = exported.data
    rows = _csv_rows(exported)
    assert f"链头：#{head} " in rows[0][0] and "敏感信息查阅" in rows[0][0]
    assert rows[1][-2:] == ["事件代码", "哈希"]
    assert len(rows) == 2 + 5
    stored = {e.seq: e.hash for e in events()}
    assert all(stored[int(r[0])] == r[-1] for r in rows[2:])
    [export] = events("event.export")
    assert export.details and '"format": "csv"' in export.details

    # Later, with more events in the log: the file still checks out.
    record_event("auth.sign_in", actor=None, details={"username": "someone"})
    db.session.commit()
    checked = _upload(client, "操作日志.csv", raw)
    assert checked.status_code == 200
    text = page_text(checked)
    assert "导出文件与日志一致" in text and f"第 {head} 号事件" in text
    # The .xlsx form checks out the same way.
    workbook = client.get("/audit/events.xlsx", query_string={"reads": "1"})
    xlsx = workbook.data
    workbook.close()
    sheet = load_workbook(io.BytesIO(xlsx)).active
    assert "链头：#" in sheet["A1"].value and sheet.cell(2, 11).value == "哈希"
    assert "导出文件与日志一致" in page_text(_upload(client, "操作日志.xlsx", xlsx))
    checks = events("event.export_check")
    assert [e.outcome for e in checks] == ["success", "success"]


def test_a_changed_export_or_a_changed_log_fails_the_check(read, client):
    UserFactory(username="auditor", roles=["auditadmin"])
    client.sign_in("auditor")
    response = client.get("/audit/events.csv", query_string={"reads": "1"})
    raw = response.data.decode("utf-8-sig")
    response.close()
    changed = raw.replace(READER_IP, "10.0.0.1", 1)
    text = page_text(_upload(client, "x.csv", changed.encode("utf-8-sig")))
    assert "导出文件与日志不一致" in text and "不同的行" in text

    # The log changed behind the product's back: its chain breaks, and the check says so.
    first = db.session.scalar(sa.select(Event).where(Event.action == "referral.read"))
    db.session.execute(sa.update(Event).where(Event.seq == first.seq).values(ip="10.0.0.1"))
    db.session.commit()
    text = page_text(_upload(client, "x.csv", raw.encode("utf-8-sig")))
    assert "导出文件与日志不一致" in text and f"日志的哈希链在第 {first.seq} 号事件处断开" in text
    assert [e.outcome for e in events("event.export_check")] == ["failure", "failure"]


@pytest.mark.parametrize(("name", "data"), [
    ("x.csv", b"not,an,export\n1,2,3\n"),
    ("x.xlsx", b"PK\x03\x04 not a workbook"),
    ("x.xlsx", PDF),
    ("x.pdf", PDF),
    ("x.csv", b"\xff\xfe\xfa broken utf-8"),
    ("x.csv", "链头：#1 \ud800".encode("utf-8", "surrogatepass")),
])
def test_a_file_that_is_no_export_is_refused_in_words(client, name, data):
    UserFactory(username="auditor", roles=["auditadmin"])
    client.sign_in("auditor")
    answer = _upload(client, name, data)
    assert answer.status_code == 422
    assert "不是操作日志的导出文件" in page_text(answer)
    assert events("event.export_check") == []


def test_the_check_asks_for_a_file_and_is_the_audit_administrators(client):
    UserFactory(username="auditor", roles=["auditadmin"])
    UserFactory(username="sys", roles=["sysadmin"])
    client.sign_in("sys")
    assert client.post_form("/audit/events/check").status_code == 403
    client.post_form("/logout")
    client.sign_in("auditor")
    assert client.get("/audit/events/check").status_code == 200
    empty = client.post_form("/audit/events/check")
    assert empty.status_code == 422 and "请选择导出的文件" in page_text(empty)
