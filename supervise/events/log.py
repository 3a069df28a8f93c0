"""Writing and verifying the event log.

`record_event` is called by operations inside the transaction of the change it records; it
never commits. `verify_chain` walks the whole log and names the first row that does not fit.

The chain's HMAC is SHA-256 or SM3 (EVENT_CHAIN_HASH); every row names the one it was written
with (`hash_algorithm`) and is verified with it, so a log that switched midway still verifies.
The head's seal uses the algorithm of the last row.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from types import SimpleNamespace

import sqlalchemy as sa
from flask import current_app, has_request_context, request

from supervise.crypto import hmac_sm3
from supervise.database import now_utc
from supervise.events.models import Event, EventChainHead, Outcome
from supervise.extensions import db

HEAD_ID = 1
GENESIS_HASH = ""

# Keys that must never reach the log, however an operation builds its details.
FORBIDDEN_DETAIL_KEYS = frozenset(
    {"password", "new_password", "current_password", "token", "secret", "persons_involved"}
)


MACS = {
    "sha256": lambda key, data: hmac.new(key, data, hashlib.sha256).digest(),
    "sm3": hmac_sm3,
}


def _key() -> bytes:
    return current_app.config["EVENT_LOG_KEY"].encode()


def _algorithm() -> str:
    return current_app.config["EVENT_CHAIN_HASH"]


def _canonical(event: Event) -> bytes:
    fields = [
        event.seq,
        event.occurred_at.isoformat(),
        event.actor_id,
        event.actor_username,
        event.agency_code,
        event.ip,
        event.action,
        event.object_type,
        event.object_id,
        event.outcome,
        event.details,
        event.prev_hash,
    ]
    return json.dumps(fields, ensure_ascii=False, separators=(",", ":")).encode()


def row_hash(event: Event, key: bytes) -> str:
    return MACS[event.hash_algorithm](key, _canonical(event)).hex()


def head_mac(seq: int, last_hash: str, key: bytes, algorithm: str) -> str:
    return MACS[algorithm](key, f"head:{seq}:{last_hash}".encode()).hex()


def client_ip() -> str | None:
    """The peer address: the client's, or behind SUPERVISE_PROXIES reverse proxies the one they
    pass on (ProxyFix); never a header the client could have written."""
    return request.remote_addr if has_request_context() else None


def record_event(
    action: str,
    *,
    actor=None,
    obj=None,
    object_type: str | None = None,
    object_id=None,
    outcome: Outcome = Outcome.SUCCESS,
    details: dict | None = None,
    ip: str | None = None,
) -> Event:
    """Append one event to the chain in the current transaction."""
    details = dict(details or {})
    leaked = FORBIDDEN_DETAIL_KEYS & set(details)
    if leaked:
        raise ValueError(f"event details may not carry {sorted(leaked)}")
    if obj is not None:
        object_type = object_type or obj.__tablename__
        if object_id is None:
            object_id = getattr(obj, "public_id", None) or obj.id
    actor_user = actor if actor is not None and getattr(actor, "is_authenticated", False) else None

    # Taking the head row first serialises appenders: a row lock on PostgreSQL, the write lock on
    # SQLite. Only then is the previous hash read.
    head = db.session.execute(
        sa.update(EventChainHead)
        .where(EventChainHead.id == HEAD_ID)
        .values(seq=EventChainHead.seq + 1)
        .returning(EventChainHead.seq, EventChainHead.hash)
    ).one_or_none()
    if head is None:
        raise RuntimeError("event chain head is missing: run the migrations")
    seq, prev_hash = head

    event = Event(
        seq=seq,
        occurred_at=now_utc(),
        actor_id=actor_user.id if actor_user else None,
        actor_username=actor_user.username if actor_user else None,
        agency_code=actor_user.agency.code if actor_user else None,
        ip=ip if ip is not None else client_ip(),
        action=action,
        object_type=object_type,
        object_id=None if object_id is None else str(object_id),
        outcome=str(outcome),
        details=json.dumps(details, ensure_ascii=False, sort_keys=True, default=str),
        prev_hash=prev_hash,
        hash_algorithm=_algorithm(),
    )
    key = _key()
    event.hash = row_hash(event, key)
    db.session.add(event)
    db.session.execute(
        sa.update(EventChainHead)
        .where(EventChainHead.id == HEAD_ID)
        .values(hash=event.hash, mac=head_mac(seq, event.hash, key, event.hash_algorithm))
    )
    db.session.flush()
    return event


def record_events(events: list[dict]) -> int:
    """Append many events at once, in order, taking the chain's head once: for a sweep that
    records thousands of steps of the system itself (no actor, no address), or a benchmark's
    history. Each is a dict with `action`, `obj` (or `object_type` and `object_id`), `details`,
    and optionally `occurred_at`, `actor` (a User) and `ip`. Flushes; the caller commits."""
    if not events:
        return 0
    db.session.flush()
    head = db.session.execute(
        sa.update(EventChainHead)
        .where(EventChainHead.id == HEAD_ID)
        .values(seq=EventChainHead.seq + len(events))
        .returning(EventChainHead.seq, EventChainHead.hash)
    ).one_or_none()
    if head is None:
        raise RuntimeError("event chain head is missing: run the migrations")
    last_seq, prev_hash = head  # the head still names the last event's hash
    seq = last_seq - len(events)
    key, algorithm = _key(), _algorithm()
    rows = []
    for spec in events:
        details = dict(spec.get("details") or {})
        leaked = FORBIDDEN_DETAIL_KEYS & set(details)
        if leaked:
            raise ValueError(f"event details may not carry {sorted(leaked)}")
        obj, actor = spec.get("obj"), spec.get("actor")
        seq += 1
        row = SimpleNamespace(
            seq=seq, occurred_at=spec.get("occurred_at") or now_utc(),
            actor_id=actor.id if actor is not None else None,
            actor_username=actor.username if actor is not None else None,
            agency_code=actor.agency.code if actor is not None else None,
            ip=spec.get("ip"), action=spec["action"],
            object_type=obj.__tablename__ if obj is not None else spec.get("object_type"),
            object_id=str(getattr(obj, "public_id", None) or obj.id) if obj is not None
            else spec.get("object_id"),
            outcome=str(Outcome.SUCCESS),
            details=json.dumps(details, ensure_ascii=False, sort_keys=True, default=str),
            prev_hash=prev_hash, hash_algorithm=algorithm)
        row.hash = prev_hash = row_hash(row, key)
        rows.append(vars(row))
    db.session.execute(sa.insert(Event.__table__), rows)
    db.session.execute(
        sa.update(EventChainHead)
        .where(EventChainHead.id == HEAD_ID)
        .values(hash=prev_hash, mac=head_mac(seq, prev_hash, key, algorithm))
    )
    return len(rows)


@dataclass
class ChainProblem:
    seq: int | None
    reason: str

    def __str__(self) -> str:
        where = f"event #{self.seq}" if self.seq is not None else "chain head"
        return f"{where}: {self.reason}"


@contextmanager
def _events_in_order() -> Iterator[Iterator[Event]]:
    """All events by sequence, fetched in batches (a server-side cursor on PostgreSQL)."""
    stmt = sa.select(Event).order_by(Event.seq).execution_options(yield_per=1000)
    result = db.session.scalars(stmt)
    try:
        yield iter(result)
    finally:
        result.close()


def verify_chain() -> tuple[int, ChainProblem | None]:
    """Check every row and the head; return (rows checked, first problem or None)."""
    key = _key()
    expected_seq = 1
    prev_hash = GENESIS_HASH
    algorithm = None  # of the last row
    count = 0
    with _events_in_order() as rows:
        for event in rows:
            if event.seq != expected_seq:
                if event.seq > expected_seq:
                    reason = f"events #{expected_seq}..#{event.seq - 1} are missing"
                else:
                    reason = "sequence out of order"
                return count, ChainProblem(event.seq, reason)
            if event.prev_hash != prev_hash:
                return count, ChainProblem(event.seq, "does not link to the previous event")
            if event.hash_algorithm not in MACS:
                return count, ChainProblem(event.seq, "names no known hash algorithm")
            if not hmac.compare_digest(event.hash, row_hash(event, key)):
                return count, ChainProblem(event.seq, "content does not match its hash")
            prev_hash, algorithm = event.hash, event.hash_algorithm
            expected_seq += 1
            count += 1

    head = db.session.get(EventChainHead, HEAD_ID)
    last_seq = expected_seq - 1
    if head is None:
        return count, ChainProblem(None, "missing")
    if head.seq != last_seq or head.hash != prev_hash:
        return count, ChainProblem(
            None, f"names event #{head.seq} but the log ends at #{last_seq}: events were removed"
        )
    if last_seq and not hmac.compare_digest(head.mac or "",
                                            head_mac(last_seq, prev_hash, key, algorithm)):
        return count, ChainProblem(None, "its seal does not match")
    return count, None
