"""Requests released at the same moment, each by a client and a token of its own: what the
concurrency tests on PostgreSQL prove their row locks with."""

from __future__ import annotations

import threading
import time

from supervise.extensions import db
from tests.support.api import Caller

TIMEOUT = 30  # seconds: a deadlock fails the test instead of hanging it


def race(app, calls):
    """Each (user, url, body) is POSTed by a client and a token of its own, all released at the
    same moment. Returns {username: (status, json)}."""
    callers = [(user.username, Caller(app.test_client(), user), url, body)
               for user, url, body in calls]
    for _, caller, _, _ in callers:  # the first request's work (token lookup) out of the way
        assert caller.get("/dispositions").status_code == 200
    db.session.remove()  # the test holds no transaction while the requests race
    barrier = threading.Barrier(len(callers), timeout=TIMEOUT)
    results: dict[str, object] = {}

    def run(username, caller, url, body):
        try:
            barrier.wait()
            started = time.monotonic()
            response = caller.post(url, json=body, headers={"Accept-Language": "en"})
            results[username] = (response.status_code, response.get_json(), started,
                                 time.monotonic())
        except BaseException as exc:  # re-raised by the test's thread
            results[username] = exc

    threads = [threading.Thread(target=run, args=call, name=f"race-{call[0]}")
               for call in callers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(TIMEOUT)
    assert not any(thread.is_alive() for thread in threads), "a request hung"
    for outcome in results.values():
        if isinstance(outcome, BaseException):
            raise outcome
    assert len(results) == len(callers)
    # They ran at the same time: each started before the other finished.
    spans = [(start, end) for _, _, start, end in results.values()]
    assert max(start for start, _ in spans) < min(end for _, end in spans)
    return {user: (status, body) for user, (status, body, _, _) in results.items()}
