"""The API as the tests call it: a user with a bearer token."""

from __future__ import annotations

import io
from datetime import UTC, datetime

from werkzeug.datastructures import FileStorage, MultiDict
from werkzeug.test import encode_multipart

from supervise.accounts import auth
from supervise.accounts.models import CredentialKind
from supervise.extensions import db

API = "/api/v1"


class Caller:
    """A user calling the API with a bearer token.

    The token is issued directly, as POST /tokens would issue it, but valid until 2100: the clock
    tests travel in time, and a token of twelve hours would expire on the way.

    `listing` is the list that list() and ids() read when given no URL (each test package's
    `as_` fixture names its own: /referrals, /rectifications, /findings).
    """

    def __init__(self, client, user, listing: str | None = None):
        self.client = client
        self.user = user
        self.listing = listing
        token, credential = auth.issue_credential(user, CredentialKind.API)
        credential.expires_at = datetime(2100, 1, 1, tzinfo=UTC)
        db.session.commit()
        self.auth = {"Authorization": f"Bearer {token}"}

    def _call(self, method, url, **kwargs):
        headers = {**self.auth, **kwargs.pop("headers", {})}
        return self.client.open(API + url, method=method, headers=headers, **kwargs)

    def get(self, url, **kwargs):
        return self._call("GET", url, **kwargs)

    def post(self, url, **kwargs):
        return self._call("POST", url, **kwargs)

    def patch(self, url, **kwargs):
        return self._call("PATCH", url, **kwargs)

    def put(self, url, **kwargs):
        return self._call("PUT", url, **kwargs)

    def delete(self, url, **kwargs):
        return self._call("DELETE", url, **kwargs)

    def upload(self, url, fields):
        """A multipart POST; `fields` maps names (or is a list of name, value pairs, for a name
        given twice) to text, or to (bytes, filename) for files.

        Encoded here, in memory: the test client would spool a large body to a temporary file
        that it never closes."""
        encoded = MultiDict()
        for name, value in fields.items() if isinstance(fields, dict) else fields:
            if isinstance(value, tuple):
                content, filename = value
                value = FileStorage(io.BytesIO(content), filename=filename,
                                    content_type="application/octet-stream")
            encoded.add(name, value)
        boundary, body = encode_multipart(encoded)
        return self.post(url, data=body,
                         content_type=f"multipart/form-data; boundary={boundary}")

    def attach(self, finding_id, content: bytes, filename="evidence.pdf"):
        """One file uploaded to a finding's attachments."""
        return self.upload(f"/findings/{finding_id}/attachments", {"file": (content, filename)})

    def list(self, url: str | None = None, **params):
        """One page (of up to 100) of a list, `listing` unless `url` names another."""
        params.setdefault("per_page", 100)
        response = self.get(url or self.listing, query_string=params)
        assert response.status_code == 200, response.get_json()
        return response.get_json()

    def pages(self, url: str, total: int, key: str = "id") -> list:
        """`key` of every item of a list of `total` items, read two to a page up to the page after
        the last; each page must tell the page, its size and the whole total. The default page
        size must be 20."""
        read = []
        for n in range(1, total // 2 + 3):
            page = self.get(url, query_string={"per_page": 2, "page": n}).get_json()
            assert (page["page"], page["per_page"], page["total"]) == (n, 2, total), page
            read.append(page["items"])
        assert read[-1] == [], "the page after the last is empty"
        assert self.get(url).get_json()["per_page"] == 20
        return [item[key] for items in read for item in items]

    def ids(self, url: str | None = None, **params):
        return {item["id"] for item in self.list(url, **params)["items"]}


def callers(world, listing: str | None = None):
    """as_("disc_staff") -> a Caller for that user, one token per user per test."""
    made = {}

    def caller(name):
        if name not in made:
            made[name] = Caller(world.client, getattr(world, name), listing)
        return made[name]

    return caller


def statements_per_caller(callers, count_queries, fetch) -> list[tuple[int, int]]:
    """For each caller, (rows answered, SQL statements it took) for `fetch(caller) -> rows`,
    after the same warm-up call, so that both rounds of a bounded-queries test start alike."""
    result = []
    for caller in callers:
        fetch(caller)  # the warm-up
        with count_queries() as statements:
            rows = fetch(caller)
        result.append((rows, len(statements)))
    return result


def counted(url, key="items", **params):
    """A `fetch` for statements_per_caller: GET `url` and count the answer's `key` list."""

    def fetch(caller):
        response = caller.get(url, query_string=params)
        assert response.status_code == 200, response.get_json()
        return len(response.get_json()[key])

    return fetch
