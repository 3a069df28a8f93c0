"""Every download checks the stored file against the SHA-256 taken at upload: a file changed on
disk is refused (409, a clear message in the reader's language, nothing of the file), and the
refusal is an event committed on its own, naming the attachment, never a person."""

from __future__ import annotations

import hashlib
import json

import pytest
import sqlalchemy as sa

from supervise.attachments import storage
from supervise.attachments.models import Attachment
from supervise.extensions import db
from supervise.referrals.models import ReferralState
from tests.helpers import events
from tests.referrals.factories import referral_in
from tests.support.files import PDF

PERSON = "完整性测试人员QZ9"


@pytest.fixture
def stored(world, as_, upload_dir):
    """A draft referral naming a person, with one PDF of evidence; the stored file's path."""
    referral = referral_in(world, ReferralState.DRAFT, persons=((PERSON, "科长"),))
    content = PDF + b"%" + b"x" * (3 * storage.CHUNK) + b"\n"  # more than one chunk
    uploaded = as_("audit_staff").upload(f"/referrals/{referral.public_id}/attachments",
                                         {"file": (content, "证据.pdf")})
    assert uploaded.status_code == 201, uploaded.get_json()
    attachment = db.session.scalar(sa.select(Attachment))
    return referral, attachment, upload_dir / attachment.storage_name, content


def api_url(referral, attachment):
    return f"/referrals/{referral.public_id}/attachments/{attachment.public_id}"


def test_an_intact_file_downloads_whole(stored, as_):
    referral, attachment, _path, content = stored
    response = as_("audit_staff").get(api_url(referral, attachment), buffered=True)
    assert response.status_code == 200
    assert response.data == content
    assert int(response.headers["Content-Length"]) == len(content)
    assert response.headers["ETag"] == f'"{hashlib.sha256(content).hexdigest()}"'
    assert [e.action for e in events()][-1] == "attachment.download"


@pytest.mark.parametrize("change", ["byte", "appended", "truncated", "replaced"])
def test_a_changed_file_is_refused_through_the_api(stored, as_, change):
    referral, attachment, path, content = stored
    if change == "byte":
        path.write_bytes(content[:-5] + b"y" + content[-4:])  # the same size
    elif change == "appended":
        path.write_bytes(content + b"<script>")
    elif change == "truncated":
        path.write_bytes(content[:100])
    else:
        path.unlink()
        path.write_bytes(PDF)
    before = len(events())
    response = as_("audit_staff").get(api_url(referral, attachment), buffered=True)
    assert response.status_code == 409
    assert response.mimetype == "application/json"
    body = response.get_json()
    assert body["message"] == "该文件与上传时不一致，不予下载。此次拒绝已记入操作日志。"
    assert b"%PDF" not in response.data and b"xxxx" not in response.data
    written = events()[before:]
    assert [e.action for e in written] == ["attachment.integrity_failed"]
    [event] = written
    assert (event.outcome, event.object_type, event.object_id, event.actor_username) == (
        "failure", "referrals", referral.public_id, "audit.staff")
    assert json.loads(event.details) == {"attachment": attachment.public_id,
                                         "sha256": attachment.sha256}
    assert PERSON not in event.details


def test_a_changed_file_is_refused_on_the_page(stored, client):
    referral, attachment, path, content = stored
    path.write_bytes(content.replace(b"x", b"z", 1))
    client.sign_in("audit.staff")
    response = client.get(f"/referrals/{referral.public_id}/attachments/"
                          f"{attachment.public_id}", buffered=True)
    assert response.status_code == 409
    assert response.mimetype == "text/html"
    page = response.get_data(as_text=True)
    assert "该文件与上传时不一致，不予下载。" in page
    assert "Content-Disposition" not in response.headers
    assert "%PDF" not in page and PERSON not in page
    assert [e.action for e in events()][-1] == "attachment.integrity_failed"


def test_the_refusal_is_in_english_for_an_english_reader(stored, as_):
    referral, attachment, path, content = stored
    path.write_bytes(content + b"!")
    response = as_("audit_staff").get(api_url(referral, attachment),
                                      headers={"Accept-Language": "en"})
    assert response.status_code == 409
    assert "no longer matches what was uploaded" in response.get_json()["message"]


def test_the_file_is_hashed_in_chunks(stored, monkeypatch):
    """Never the whole file in memory at once: every read asks for one chunk at most."""
    _referral, attachment, path, content = stored
    sizes = []
    real_open = type(path).open

    def spying_open(self, *args, **kwargs):
        fh = real_open(self, *args, **kwargs)
        read = fh.read

        class Spy:
            def __getattr__(self, name):
                return getattr(fh, name)

            def read(self, size=-1):
                sizes.append(size)
                return read(size)

        return Spy()

    monkeypatch.setattr(type(path), "open", spying_open)
    fh = storage.open_verified(attachment.storage_name, attachment.sha256)
    assert fh.read() == content
    assert sizes[:-1] and all(0 < size <= storage.CHUNK for size in sizes[:-1])
    fh.close()
