"""Measure every list page on a grown database (bench/grow.py), served as in production.

Serves the database with gunicorn (2 workers) and, beside it, a bare Flask endpoint
(bench/bare.py) with the same workers; signs in as the demo accounts (answering their second
factor); then, for every page, times single requests one after the other (p50, p95) and measures
requests per second under load with `wrk` (8 connections), as a share of the bare endpoint's.

    .venv/bin/python bench/run.py --database sqlite:///bench/data/100k.db [--label 100k]

Prints one Markdown table. Needs `wrk` (apt-get install wrk) for the load column; without it
that column is left out.
"""

from __future__ import annotations

import argparse
import http.cookiejar
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path

import pyotp

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.grow import BENCH_CONFIG, PASSWORD  # noqa: E402

# (account, path): the pages of issue 13, each as the person who uses it.
PAGES = [
    ("audit.staff", "/findings"),
    ("audit.staff", "/findings?scope=own&status=issued"),
    ("audit.staff", "/findings?q=津补贴"),
    ("audit.staff", "/findings?scope=all&category={category}&year=2024"),
    ("inspect.staff", "/findings?scope=shared_with_us"),
    ("audit.leader", "/findings?status=pending_issue"),
    ("audit.staff", "/api/v1/findings"),
    ("audit.staff", "/api/v1/findings?q=采购"),
    ("audit.staff", "/referrals"),
    ("discipline.staff", "/referrals/inbox?tab=all"),
    ("discipline.staff", "/referrals/inbox?tab=handling"),
    ("discipline.staff", "/referrals/inbox?tab=overdue"),
    ("audit.leader", "/approvals"),
    ("audit.staff", "/rectifications"),
    ("unit.contact", "/rectifications"),
    ("audit.staff", "/"),
    ("discipline.leader", "/"),
    ("audit.staff", "/notifications"),
    ("auditadmin", "/audit/events"),
    ("auditadmin", "/audit/events?action=referral.read&from=2024-01-01&to=2024-12-31"),
    # Search (issue 3): the page posts its query (a name stays out of the URL), the API is GET.
    # A phrase in a twentieth of the findings, one in all of them (capped), two characters that
    # are common and that are nowhere (the bounded scan at its longest), a word nowhere, the
    # same phrase for an agency that sees only what is shared with it, the commission's
    # referrals, the audited unit's items, and a person's name.
    ("audit.staff", "POST /search q=违规发放津补贴"),
    ("audit.staff", "/api/v1/search?q=违规发放津补贴"),
    ("audit.staff", "/api/v1/search?q=涉及金额"),
    ("audit.staff", "/api/v1/search?q=挂账"),
    ("audit.staff", "/api/v1/search?q=无此"),
    ("audit.staff", "/api/v1/search?q=没有这样的问题"),
    ("audit.staff", "/api/v1/search?q=公务用车 石门"),
    ("inspect.staff", "/api/v1/search?q=违规发放津补贴"),
    ("discipline.staff", "/api/v1/search?q=虚列支出"),
    ("unit.contact", "/api/v1/search?q=津补贴"),
    ("audit.staff", "POST /search q=王伟"),
    # The leader's figures (issue 14): the current year by default, a past year, the whole
    # six years grown, and a unit's or a category's figures; each side of the referrals.
    ("audit.leader", "/api/v1/statistics/referrals"),
    ("audit.leader", "/api/v1/statistics/referrals?year=2024&quarter=2"),
    ("audit.leader", "/api/v1/statistics/referrals?start=2021-01-01&end=2026-12-31"),
    ("discipline.leader", "/api/v1/statistics/referrals"),
    ("audit.leader", "/api/v1/statistics/rectifications"),
    ("audit.leader", "/api/v1/statistics/rectifications?start=2021-01-01&end=2026-12-31"),
    ("audit.leader", "/api/v1/statistics/findings"),
    ("audit.leader", "/api/v1/statistics/findings?year=2024&category={category}"),
    ("inspect.leader", "/api/v1/statistics/findings"),
    ("audit.leader", "/api/v1/statistics/trends"),
    ("audit.leader", "/api/v1/statistics/annual?year=2025"),
    # ... and the statistics page itself, a section at a time, with its charts' tables.
    ("audit.leader", "/statistics"),
    ("audit.leader", "/statistics?section=rectifications"),
    ("audit.leader", "/statistics?section=findings"),
    ("audit.leader", "/statistics?section=trends&start=2021-01-01&end=2026-12-31"),
    ("discipline.leader", "/statistics"),
    ("audit.leader", "/statistics/annual?year=2025"),
]
SINGLE_REQUESTS = 40


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def served(app: str, env: dict, workers: int = 2):
    port = free_port()
    log = tempfile.NamedTemporaryFile("w+", prefix="bench-", suffix=".log")  # noqa: SIM115
    process = subprocess.Popen(
        [str(ROOT / ".venv/bin/gunicorn"), "--workers", str(workers), "--bind",
         f"127.0.0.1:{port}", "--timeout", "120", app],
        cwd=ROOT, env=env, stdout=log, stderr=log)
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(100):
            try:
                urllib.request.urlopen(base + "/", timeout=1)
                break
            except urllib.error.HTTPError:
                break
            except OSError:
                time.sleep(0.2)
        yield base
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=30)
        log.seek(0)
        text = log.read()
        log.close()
        if "Traceback" in text:
            first = text[text.index("Traceback"):].split("\n\n", 1)[0]
            print(f"  the server logged {text.count('Traceback')} errors, the first:\n{first}",
                  file=sys.stderr)


class Browser:
    """One signed-in person: a cookie jar and a CSRF token from the forms."""

    def __init__(self, base: str):
        self.base = base
        self.jar = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.jar))

    def get(self, path: str) -> tuple[int, bytes]:
        try:
            with self.opener.open(self.base + path, timeout=60) as answer:
                return answer.status, answer.read()
        except urllib.error.HTTPError as error:
            return error.code, error.read()

    def post(self, path: str, fields: dict) -> tuple[int, str]:
        data = urllib.parse.urlencode(fields).encode()
        try:
            with self.opener.open(self.base + path, data=data, timeout=60) as answer:
                return answer.status, answer.geturl()
        except urllib.error.HTTPError as error:
            return error.code, ""

    def post_page(self, path: str, fields: dict) -> tuple[int, bytes]:
        """A form posted with the page's CSRF token; the answer's status and body."""
        data = urllib.parse.urlencode({"csrf_token": self.token_of(path), **fields}).encode()
        try:
            with self.opener.open(self.base + path, data=data, timeout=60) as answer:
                if urllib.parse.urlsplit(answer.geturl()).path.startswith("/login"):
                    return 401, b""  # not signed in: the form was sent to the sign-in page
                return answer.status, answer.read()
        except urllib.error.HTTPError as error:
            return error.code, error.read()

    def token_of(self, path: str) -> str:
        if path not in getattr(self, "_tokens", {}):
            self._tokens = {**getattr(self, "_tokens", {}), path: self.csrf(path)}
        return self._tokens[path]

    def csrf(self, path: str) -> str:
        _status, body = self.get(path)
        return re.search(rb'name="csrf_token"[^>]*value="([^"]+)"', body).group(1).decode()

    def sign_in(self, username: str, secret: str | None) -> None:
        _status, where = self.post("/login", {"csrf_token": self.csrf("/login"),
                                              "username": username, "password": PASSWORD})
        if "/login/code" in where:
            _status, where = self.post("/login/code", {
                "csrf_token": self.csrf("/login/code"), "code": fresh_code(username, secret)})
        if "/login" in urllib.parse.urlsplit(where).path:
            raise SystemExit(f"{username} could not sign in ({where})")

    def cookie_header(self) -> str:
        return "; ".join(f"{c.name}={c.value}" for c in self.jar)

    def token(self, username: str, secret: str | None) -> str:
        import json

        body = {"username": username, "password": PASSWORD}
        if secret:
            body["otp"] = fresh_code(username, secret)
        request = urllib.request.Request(self.base + "/api/v1/tokens", method="POST",
                                         data=json.dumps(body).encode(),
                                         headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=60) as answer:
            return json.load(answer)["token"]


_used_steps: dict[str, int] = {}


def fresh_code(username: str, secret: str) -> str:
    """A code the product will take: it refuses a code used once already (replay), so a second
    sign-in of one account waits for the next 30-second step."""
    totp = pyotp.TOTP(secret)
    step = totp.timecode(datetime.now())
    if _used_steps.get(username) == step:
        time.sleep(totp.interval - time.time() % totp.interval + 0.5)
        step = totp.timecode(datetime.now())
    _used_steps[username] = step
    return totp.at(datetime.now())


def second_factor_secrets(database: str) -> dict[str, str]:
    """The demo accounts' TOTP secrets, opened with the bench's data key."""
    from supervise import create_app
    from supervise.accounts.models import User
    from supervise.extensions import db

    app = create_app({**BENCH_CONFIG, "SQLALCHEMY_DATABASE_URI": database})
    with app.app_context():
        found = {u.username: u.otp_secret for u in db.session.query(User).all()
                 if u.otp_enrolled_at is not None}
        category = db.session.execute(db.text("SELECT code FROM categories LIMIT 1")).scalar()
        db.engine.dispose()
    return found | {"_category": category}


def time_single(get, path: str) -> tuple[float, float, int]:
    for _ in range(3):  # warm the caches and the workers
        get(path)
    times, status = [], 0
    for _ in range(SINGLE_REQUESTS):
        started = time.perf_counter()
        status, _body = get(path)
        times.append((time.perf_counter() - started) * 1000)
    times.sort()
    return statistics.median(times), times[int(len(times) * 0.95) - 1], status


def wrk(url: str, headers: dict[str, str], seconds: int) -> float | None:
    if not shutil.which("wrk"):
        return None
    command = ["wrk", "-t2", "-c8", f"-d{seconds}s", "--latency"]
    for name, value in headers.items():
        command += ["-H", f"{name}: {value}"]
    out = subprocess.run([*command, url], capture_output=True, text=True, check=True).stdout
    found = re.search(r"Requests/sec:\s+([\d.]+)", out)
    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    if non_2xx:
        print(f"  warning: {non_2xx.group(1)} answers were not 2xx for {url}", file=sys.stderr)
    return float(found.group(1)) if found else None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database", required=True)
    parser.add_argument("--label", default="")
    parser.add_argument("--load-seconds", type=int, default=5)
    parser.add_argument("--only", default="", help="only the pages whose path contains this")
    args = parser.parse_args()
    pages = [(u, p) for u, p in PAGES if args.only in p]
    secrets_ = second_factor_secrets(args.database)
    category = secrets_.pop("_category")
    env = {**os.environ, "DATABASE_URL": args.database, "SMTP_HOST": "",
           **{k: v for k, v in BENCH_CONFIG.items() if isinstance(v, str)}}
    backend = args.database.split(":", 1)[0].split("+", 1)[0]
    rows = []
    with served("bench.bare:app", env) as bare_base:
        bare_p50, bare_p95, _ = time_single(lambda p: Browser(bare_base).get(p), "/")
        bare_rps = wrk(bare_base + "/", {}, args.load_seconds)
    with served("wsgi:app", env) as base:
        browsers, tokens = {}, {}
        for username, path in pages:
            if path.startswith("/api/"):
                if username not in tokens:
                    tokens[username] = Browser(base).token(username, secrets_.get(username))
                continue
            if username not in browsers:
                browsers[username] = Browser(base)
                browsers[username].sign_in(username, secrets_.get(username))
        for username, path in pages:
            path = path.format(category=category)
            if path.startswith("POST "):
                # A form: timed one after the other; wrk would need a script to post it.
                target, _space, query = path[5:].partition(" ")
                fields = dict(urllib.parse.parse_qsl(query))
                browser = browsers[username]
                p50, p95, status = time_single(
                    lambda _p, b=browser, t=target, f=fields: b.post_page(t, f), target)
                rows.append((username, path, status, p50, p95, None))
                print(f"  {username} {path}: p95 {p95:.0f} ms", file=sys.stderr, flush=True)
                continue
            if path.startswith("/api/"):
                auth = {"Authorization": f"Bearer {tokens[username]}"}

                def get(p, auth=auth):
                    request = urllib.request.Request(base + p, headers=auth)
                    with urllib.request.urlopen(request, timeout=60) as answer:
                        return answer.status, answer.read()
                headers = auth
            else:
                get, headers = browsers[username].get, {
                    "Cookie": browsers[username].cookie_header()}
            p50, p95, status = time_single(get, urllib.parse.quote(path, safe="/?=&"))
            rps = wrk(base + urllib.parse.quote(path, safe="/?=&"), headers, args.load_seconds)
            rows.append((username, path, status, p50, p95, rps))
            print(f"  {username} {path}: p95 {p95:.0f} ms", file=sys.stderr, flush=True)
    print(f"\n{backend} {args.label}: bare Flask p50 {bare_p50:.1f} ms, p95 {bare_p95:.1f} ms"
          + (f", {bare_rps:.0f} req/s" if bare_rps else ""))
    print("\n| account | page | status | p50 ms | p95 ms | req/s | % of bare |")
    print("|---|---|---|---|---|---|---|")
    for username, path, status, p50, p95, rps in rows:
        share = f"{100 * rps / bare_rps:.0f} %" if rps and bare_rps else ""
        print(f"| {username} | `{path}` | {status} | {p50:.0f} | {p95:.0f} | "
              f"{rps:.0f} | {share} |" if rps else
              f"| {username} | `{path}` | {status} | {p50:.0f} | {p95:.0f} | | |")


if __name__ == "__main__":
    main()
