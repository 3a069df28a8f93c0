"""Several application servers on one PostgreSQL database: nothing lives only on one server's
disk or memory.

Two gunicorn servers (A and B, two workers each) and two `flask worker` processes run on one
freshly migrated and seeded PostgreSQL database with the database storage backend, each with an
upload folder of its own (that must stay empty). Then:
- a sign-in whose password step is on A and second-factor step on B opens a session that works
  on both, and signing out on B ends it on A; wrong passwords on A lock the name out on B;
- a file uploaded through A downloads through B with the same SHA-256;
- the two workers drain one outbox into a real SMTP server (aiosmtpd) and each email arrives
  exactly once; a ledger requested through A is built once, by one of them, and downloads
  through B.

Marked `servers`: not part of `make test`; `.ci/two-servers` runs it (CI: `.ci/run`). Needs
TEST_DATABASE_URL pointing at PostgreSQL, whose sibling database `<name>_servers` it makes and
drops.
"""

from __future__ import annotations

import hashlib
import http.client
import json
import os
import re
import secrets
import subprocess
import sys
import time
import uuid
from collections import Counter
from pathlib import Path
from urllib.parse import urlencode, urlsplit

import pytest
import sqlalchemy as sa

from tests.conftest import TEST_DATABASE_URL
from tests.support.files import PDF
from tests.support.smtp import SmtpServer, free_port

pytestmark = [
    pytest.mark.servers,
    pytest.mark.skipif(not (TEST_DATABASE_URL or "").startswith("postgresql"),
                       reason="needs TEST_DATABASE_URL pointing at PostgreSQL"),
]

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
PASSWORD = "two-servers-demo-password"
EMAILS = 150  # queued at once, for the two workers to race over
BIG = PDF + b"%" + b"z" * (2 * 1024 * 1024 + 4321) + b"\n"  # several parts of stored_files


class Client:
    """One person's HTTP client for one server: the cookies it is given, no redirects
    followed."""

    def __init__(self, port: int, cookies: dict | None = None):
        self.port = port
        self.cookies = cookies if cookies is not None else {}

    def on(self, port: int) -> Client:
        """The same person (the same cookies) talking to another server."""
        return Client(port, self.cookies)

    def request(self, method: str, path: str, body: bytes | None = None,
                headers: dict | None = None) -> tuple[int, dict, bytes]:
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=120)
        headers = dict(headers or {})
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        try:
            connection.request(method, path, body=body, headers=headers)
            response = connection.getresponse()
            data = response.read()
            for header in response.headers.get_all("Set-Cookie") or []:
                name, _, rest = header.partition("=")
                value = rest.split(";", 1)[0]
                if value:
                    self.cookies[name] = value
                else:
                    self.cookies.pop(name, None)
            return response.status, dict(response.headers), data
        finally:
            connection.close()

    def get(self, path: str, **headers):
        return self.request("GET", path, headers=headers)

    def post_form(self, path: str, fields: dict, page: str | None = None):
        """Post a form as the page that holds it (`page`, else `path`) would."""
        fields = {"csrf_token": self.csrf(page or path), **fields}
        return self.request("POST", path, urlencode(fields).encode(),
                            {"Content-Type": "application/x-www-form-urlencoded"})

    def csrf(self, path: str) -> str:
        status, _headers, body = self.get(path)
        assert status == 200, (path, status)
        return re.search(rb'name="csrf_token"[^>]*value="([^"]+)"', body).group(1).decode()


def api(port: int, method: str, path: str, token: str | None = None, body=None,
        content_type: str = "application/json") -> tuple[int, dict, bytes]:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    if body is not None and not isinstance(body, bytes):
        body = json.dumps(body).encode()
    if body is not None:
        headers["Content-Type"] = content_type
    return Client(port).request(method, "/api/v1" + path, body, headers)


def location(headers: dict) -> str:
    return urlsplit(headers.get("Location", "")).path


def wait_for(check, seconds: float, what: str):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        found = check()
        if found:
            return found
        time.sleep(0.3)
    raise AssertionError(f"timed out waiting for {what}")


class Installation:
    """The database, the environment the processes share, and the processes."""

    def __init__(self, tmp: Path, smtp: SmtpServer):
        url = sa.make_url(TEST_DATABASE_URL)
        self.name = f"{url.database}_servers"
        self.admin = sa.create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
        with self.admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)'))
            conn.execute(sa.text(f'CREATE DATABASE "{self.name}"'))
        self.url = url.set(database=self.name).render_as_string(hide_password=False)
        self.engine = sa.create_engine(self.url)
        self.tmp = tmp
        self.ports = {"A": free_port(), "B": free_port()}
        self.env = {**os.environ, "DATABASE_URL": self.url, "FILE_STORAGE": "database",
                    "SECRET_KEY": secrets.token_hex(16), "EVENT_LOG_KEY": secrets.token_hex(16),
                    "DATA_KEY": secrets.token_hex(32), "SUPERVISE_DEMO_PASSWORD": PASSWORD,
                    "SMTP_HOST": "127.0.0.1", "SMTP_PORT": str(smtp.port),
                    "WORKER_POLL_SECONDS": "0.5", "REMINDER_SWEEP_SECONDS": "3600",
                    "PUBLIC_URL": f"http://127.0.0.1:{self.ports['A']}"}
        self.env.pop("TEST_DATABASE_URL", None)
        self.processes: dict[str, subprocess.Popen] = {}
        self.folders = {}

    def run(self, *args: str) -> str:
        done = subprocess.run([str(BIN / "flask"), "--app", "wsgi", *args], cwd=ROOT,
                              env=self.folder_env("cli"), capture_output=True, text=True,
                              timeout=300, check=False)
        assert done.returncode == 0, done.stderr[-2000:]
        return done.stdout

    def folder_env(self, name: str) -> dict:
        folder = self.tmp / f"uploads-{name}"
        folder.mkdir(exist_ok=True)
        self.folders[name] = folder
        return {**self.env, "UPLOAD_DIR": str(folder)}

    def start(self) -> None:
        self.run("db", "upgrade")
        self.run("seed-demo")
        for name, port in self.ports.items():
            self._spawn(f"server-{name}", [str(BIN / "gunicorn"), "--workers", "2", "--bind",
                                           f"127.0.0.1:{port}", "wsgi:app"])
        for name in ("worker-1", "worker-2"):
            self._spawn(name, [str(BIN / "flask"), "--app", "wsgi", "worker"])
        for port in self.ports.values():
            wait_for(lambda port=port: self._healthy(port), 60, f"the server on {port}")

    def _spawn(self, name: str, command: list[str]) -> None:
        with (self.tmp / f"{name}.log").open("wb") as log:  # the child keeps its own copy
            self.processes[name] = subprocess.Popen(  # noqa: S603 - our own commands
                command, cwd=ROOT, env=self.folder_env(name), stdout=log,
                stderr=subprocess.STDOUT)

    def _healthy(self, port: int) -> bool:
        try:
            return Client(port).get("/healthz")[0] == 200
        except OSError:
            return False

    def otp(self, username: str) -> str:
        return self.run("demo-otp", username).strip()

    def scalar(self, statement: str, **params):
        with self.engine.connect() as conn:
            return conn.execute(sa.text(statement), params).scalar()

    def execute(self, statement: str, rows=None) -> None:
        with self.engine.begin() as conn:
            conn.execute(sa.text(statement), rows or {})

    def log(self, name: str) -> str:
        return (self.tmp / f"{name}.log").read_text(errors="replace")

    def stop(self) -> None:
        for process in self.processes.values():
            process.terminate()
        for process in self.processes.values():
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
        self.engine.dispose()
        with self.admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)'))
        self.admin.dispose()


@pytest.fixture(scope="module")
def smtp():
    server = SmtpServer()
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def site(tmp_path_factory, smtp):
    installation = Installation(tmp_path_factory.mktemp("two-servers"), smtp)
    try:
        installation.start()
        yield installation
        for name in installation.processes:
            assert installation.processes[name].poll() is None, installation.log(name)[-3000:]
        # Nothing was kept on any process's disk.
        for name, folder in installation.folders.items():
            assert list(folder.iterdir()) == [], name
    finally:
        installation.stop()


def token(site, port: int, username: str, otp: bool = False) -> str:
    body = {"username": username, "password": PASSWORD}
    if otp:
        body["otp"] = site.otp(username)
    status, _headers, data = api(port, "POST", "/tokens", body=body)
    assert status == 201, data[:300]
    return json.loads(data)["token"]


def test_a_session_opened_on_one_server_works_on_the_other(site):
    a, b = site.ports["A"], site.ports["B"]
    person = Client(a)
    status, headers, _ = person.post_form("/login", {"username": "discipline.leader",
                                                     "password": PASSWORD})
    assert status == 302 and location(headers) == "/login/code"
    # The second factor on the other server.
    status, headers, _ = person.on(b).post_form("/login/code",
                                               {"code": site.otp("discipline.leader")})
    assert status == 302 and location(headers) == "/", headers
    for port in (a, b):
        status, _headers, body = person.on(port).get("/")
        assert status == 200 and "区纪委监委" in body.decode(), port
    status, _headers, _ = person.on(b).post_form("/logout", {}, page="/")
    assert status == 302
    kept = Client(a, dict(person.cookies))
    status, headers, _ = kept.get("/")
    assert status == 302 and location(headers) == "/login"


def test_wrong_passwords_on_one_server_lock_the_name_on_the_other(site):
    """Five wrong passwords, by turns on A and on B: the counter is one, so the right password
    is refused afterwards on either."""
    a, b = site.ports["A"], site.ports["B"]
    statuses = [Client(port).post_form("/login", {"username": "org.staff",
                                                  "password": "wrong-password"})[0]
                for port in (a, b, a, b, a)]
    assert statuses[:4] == [401] * 4 and statuses[4] in (401, 403)
    for port in (a, b):
        status, headers, body = Client(port).post_form("/login", {"username": "org.staff",
                                                                  "password": PASSWORD})
        assert status == 403 and location(headers) != "/", port


def test_a_file_uploaded_through_one_server_downloads_through_the_other(site):
    a, b = site.ports["A"], site.ports["B"]
    bearer = token(site, a, "audit.staff")
    status, _headers, data = api(a, "GET", "/findings?scope=own&per_page=1", bearer)
    assert status == 200, data[:300]
    finding = json.loads(data)["items"][0]["id"]
    boundary = uuid.uuid4().hex
    body = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; "
            f"filename=\"two-servers.pdf\"\r\nContent-Type: application/pdf\r\n\r\n").encode() \
        + BIG + f"\r\n--{boundary}--\r\n".encode()
    status, _headers, data = api(a, "POST", f"/findings/{finding}/attachments", bearer, body,
                                 f"multipart/form-data; boundary={boundary}")
    assert status == 201, data[:300]
    uploaded = json.loads(data)
    assert uploaded["sha256"] == hashlib.sha256(BIG).hexdigest()
    status, _headers, data = api(b, "GET", f"/attachments/{uploaded['id']}", bearer)
    assert status == 200 and hashlib.sha256(data).hexdigest() == uploaded["sha256"]
    # And through B with a browser session opened on A.
    person = Client(a)
    assert person.post_form("/login", {"username": "audit.staff", "password": PASSWORD})[0] \
        == 302
    status, _headers, data = person.on(b).get(f"/api/v1/attachments/{uploaded['id']}")
    assert status == 200 and hashlib.sha256(data).hexdigest() == uploaded["sha256"]


def test_two_workers_send_each_email_once_and_build_a_ledger_once(site, smtp):
    a, b = site.ports["A"], site.ports["B"]
    recipients = [row for row in site.engine.connect().execute(sa.text(
        "SELECT id FROM users WHERE email IS NOT NULL ORDER BY id")).scalars()]
    now = time.strftime("%Y-%m-%d %H:%M:%S+00", time.gmtime())
    site.execute(
        "INSERT INTO notifications (public_id, recipient_id, kind, subject_type, subject_id,"
        " subject_public_id, created_at, email_state, email_attempts, email_next_at)"
        " VALUES (:public_id, :recipient_id, 'due_soon', 'referral', 1, 'xxxxxxxxxxxxxxxx',"
        " :now, 'pending', 0, :now)",
        [{"public_id": secrets.token_urlsafe(12)[:16], "recipient_id": recipients[i % len(
            recipients)], "now": now} for i in range(EMAILS)])
    wait_for(lambda: site.scalar("SELECT count(*) FROM notifications WHERE email_state IN "
                                 "('pending', 'sending')") == 0, 120, "the outbox to drain")
    time.sleep(2)  # a duplicate would arrive by now
    sent = set(site.engine.connect().execute(sa.text(
        "SELECT public_id FROM notifications WHERE email_state = 'sent'")).scalars())
    assert len(sent) >= EMAILS
    received = Counter(m["Message-ID"] for m in smtp.inbox.messages)
    assert [mid for mid, n in received.items() if n > 1] == []
    assert set(received) == {f"<notification.{p}@localhost>" for p in sent}
    workers = [name for name in ("worker-1", "worker-2") if "Emails: sent" in site.log(name)]
    print(f"emails: {len(sent)} sent once each; workers that sent some: {workers}")

    # A ledger in the background: requested through A, built once, downloaded through B.
    site.execute("INSERT INTO settings (key, value, updated_at) VALUES "
                 "('export_background_rows', 0, now())")
    bearer = token(site, a, "audit.staff")
    status, _headers, data = api(a, "GET", "/ledgers/findings.xlsx", bearer)
    assert status == 202, data[:300]
    job = json.loads(data)
    again = json.loads(api(b, "GET", "/ledgers/findings.xlsx", bearer)[2])
    assert again["id"] == job["id"]

    def ready():
        answer = json.loads(api(b, "GET", f"/exports/{job['id']}", bearer)[2])
        return answer if answer["state"] == "ready" else None

    wait_for(ready, 120, "the ledger to be built")
    status, headers, data = api(b, "GET", f"/exports/{job['id']}/file", bearer)
    assert status == 200 and data[:2] == b"PK"
    assert site.scalar("SELECT count(*) FROM events WHERE action = 'ledger.export_build'") == 1
    assert site.scalar("SELECT count(*) FROM export_jobs") == 1
    told = site.scalar("SELECT count(*) FROM notifications WHERE kind = 'export_ready'")
    assert told == 1
