"""Encryption at rest of the most sensitive texts (the persons involved in a referral, the
discipline commission's internal handling notes), and the keyed hashes that go with it.

Envelope encryption. Every value gets a random data key of its own; the data key is encrypted
("wrapped") under a key derived from the master key, DATA_KEY, which lives outside the database
(the environment; instance/data_key in development). A sealed value is one line of text:

    s1.<cipher>.<key id>.<wrapped data key>.<nonce, ciphertext and tag>

- cipher: `sm4-gcm` (SM4, GB/T 32907, in GCM mode: the national algorithm 密评 GB/T 39786
  expects) or `aes-gcm` (AES-256-GCM), as DATA_CIPHER said when the value was sealed. The same
  cipher wraps the data key. Changing DATA_CIPHER applies to values sealed from then on; the
  others keep their cipher and stay readable.
- key id: a short fingerprint of the master key that wrapped the data key (an HMAC of a fixed
  text under the key: it tells nothing of the key). A value wrapped under a retired master key
  (DATA_KEYS_RETIRED) is still opened, so that a rotation needs no downtime.
- the wrapping key is derived from the master key by HKDF (SM3 for sm4-gcm, SHA-256 for
  aes-gcm), never the master key itself; the wrapped key is bound to the header before it.
- the data is bound, as GCM's associated data, to where it is stored: the table, the column
  and the row (see `SealedText`), so a value copied into another row or column does not open.
- the last two parts are URL-safe base64 without padding.

Whatever goes wrong in opening (a changed byte, a value moved elsewhere, a key that is not the
one) raises `SealError`, never returns something else; its message names neither the value nor
a key.

Blind index: exact-name lookups go through an HMAC-SM3 of the name (in the form names are
compared in, `cleaning.name_key`) under a key
derived from the master key, stored beside the sealed name. A rotation computes it again under
the new master key (it opens each name to do so); until it has finished, a lookup asks for the
index under every key of the ring.
"""

from __future__ import annotations

import base64
import binascii
import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import cached_property

import sqlalchemy as sa
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes, hmac
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from flask import current_app

from supervise.cleaning import name_key
from supervise.database import new_public_id

VERSION = "s1"
NONCE = 12
TAG = 16


@dataclass(frozen=True)
class CipherSpec:
    algorithm: Callable[[bytes], algorithms.BlockCipherAlgorithm]
    key_size: int
    kdf_hash: Callable[[], hashes.HashAlgorithm]


CIPHERS = {
    "sm4-gcm": CipherSpec(algorithms.SM4, 16, hashes.SM3),
    "aes-gcm": CipherSpec(algorithms.AES, 32, hashes.SHA256),
}


class SealError(Exception):
    """A sealed value that does not open. The message says why in general terms only."""


def hmac_sm3(key: bytes, data: bytes) -> bytes:
    mac = hmac.HMAC(key, hashes.SM3())
    mac.update(data)
    return mac.finalize()


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    if not text or not text.isascii():
        raise ValueError("not base64")
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _gcm_seal(spec: CipherSpec, key: bytes, plaintext: bytes, aad: bytes) -> bytes:
    nonce = os.urandom(NONCE)
    encryptor = Cipher(spec.algorithm(key), modes.GCM(nonce)).encryptor()
    encryptor.authenticate_additional_data(aad)
    return nonce + encryptor.update(plaintext) + encryptor.finalize() + encryptor.tag


def _gcm_open(spec: CipherSpec, key: bytes, sealed: bytes, aad: bytes) -> bytes:
    if len(sealed) < NONCE + TAG:
        raise InvalidTag
    nonce, body, tag = sealed[:NONCE], sealed[NONCE:-TAG], sealed[-TAG:]
    decryptor = Cipher(spec.algorithm(key), modes.GCM(nonce, tag)).decryptor()
    decryptor.authenticate_additional_data(aad)
    return decryptor.update(body) + decryptor.finalize()


class MasterKey:
    """One master key and what is derived from it (computed once per process)."""

    def __init__(self, key: bytes):
        if len(key) != 32:
            raise ValueError("a master key has 32 bytes")
        self._key = key
        self.id = hmac_sm3(key, b"supervise data key id").hex()[:12]
        self._wrapping: dict[str, bytes] = {}

    def wrapping_key(self, cipher: str) -> bytes:
        if cipher not in self._wrapping:
            spec = CIPHERS[cipher]
            self._wrapping[cipher] = HKDF(
                algorithm=spec.kdf_hash(), length=spec.key_size, salt=None,
                info=f"supervise {VERSION} wrap {cipher}".encode()).derive(self._key)
        return self._wrapping[cipher]

    @cached_property
    def index_key(self) -> bytes:
        return HKDF(algorithm=hashes.SM3(), length=32, salt=None,
                    info=f"supervise {VERSION} blind index".encode()).derive(self._key)

    def __repr__(self) -> str:  # never the key
        return f"<MasterKey {self.id}>"


@dataclass(frozen=True)
class Token:
    cipher: str
    key_id: str
    wrapped: bytes
    data: bytes

    @property
    def header(self) -> str:
        return f"{VERSION}.{self.cipher}.{self.key_id}"

    def __str__(self) -> str:
        return f"{self.header}.{_b64(self.wrapped)}.{_b64(self.data)}"

    @classmethod
    def parse(cls, text: str) -> Token:
        parts = text.split(".") if isinstance(text, str) else []
        if len(parts) != 5 or parts[0] != VERSION or parts[1] not in CIPHERS:
            raise SealError("not a sealed value")
        try:
            return cls(parts[1], parts[2], _unb64(parts[3]), _unb64(parts[4]))
        except (ValueError, binascii.Error):
            raise SealError("not a sealed value") from None


def key_id_of(text: str) -> str:
    """The id of the master key a sealed value is wrapped under."""
    return Token.parse(text).key_id


class Keyring:
    """The current master key, which seals, and the retired ones, which only open (and
    `rewrap` moves their values to the current one)."""

    def __init__(self, current: bytes, retired: Iterable[bytes] = (), cipher: str = "sm4-gcm"):
        if cipher not in CIPHERS:
            raise ValueError(f"unknown cipher {cipher!r}")
        self.cipher = cipher
        self.current = MasterKey(current)
        self.keys = {self.current.id: self.current}
        for key in retired:
            master = MasterKey(key)
            self.keys.setdefault(master.id, master)

    @classmethod
    def from_config(cls, config) -> Keyring:
        return cls(bytes.fromhex(config["DATA_KEY"]),
                   [bytes.fromhex(k) for k in config["DATA_KEYS_RETIRED"]],
                   config["DATA_CIPHER"])

    @staticmethod
    def _aad(cipher: str, place: tuple[str, str, str]) -> bytes:
        return "|".join((VERSION, cipher, *place)).encode()

    def seal(self, plaintext: str, place: tuple[str, str, str]) -> str:
        """`place`: (table, column, row identity) the value is bound to."""
        spec = CIPHERS[self.cipher]
        data_key = os.urandom(spec.key_size)
        data = _gcm_seal(spec, data_key, plaintext.encode(), self._aad(self.cipher, place))
        token = Token(self.cipher, self.current.id, b"", data)
        wrapped = _gcm_seal(spec, self.current.wrapping_key(self.cipher), data_key,
                            token.header.encode())
        return str(Token(self.cipher, self.current.id, wrapped, data))

    def _data_key(self, token: Token) -> bytes:
        master = self.keys.get(token.key_id)
        if master is None:
            raise SealError(f"sealed under key {token.key_id}, which is neither DATA_KEY nor "
                            "one of DATA_KEYS_RETIRED")
        try:
            return _gcm_open(CIPHERS[token.cipher], master.wrapping_key(token.cipher),
                             token.wrapped, token.header.encode())
        except InvalidTag:
            raise SealError("the data key does not open: the value was changed") from None

    def open(self, text: str, place: tuple[str, str, str]) -> str:
        token = Token.parse(text)
        data_key = self._data_key(token)
        try:
            plaintext = _gcm_open(CIPHERS[token.cipher], data_key, token.data,
                                  self._aad(token.cipher, place))
        except (InvalidTag, ValueError):  # ValueError: a data key of the wrong size
            raise SealError("the value does not open here: it was changed, or moved from "
                            "another row or column") from None
        try:
            return plaintext.decode()
        except UnicodeDecodeError:  # pragma: no cover - authenticated, so never in practice
            raise SealError("the value is not text") from None

    def rewrap(self, text: str) -> str:
        """The same value with its data key wrapped under the current master key (unchanged
        if it is already)."""
        token = Token.parse(text)
        if token.key_id == self.current.id:
            return text
        data_key = self._data_key(token)
        header = Token(token.cipher, self.current.id, b"", b"").header
        wrapped = _gcm_seal(CIPHERS[token.cipher], self.current.wrapping_key(token.cipher),
                            data_key, header.encode())
        return str(Token(token.cipher, self.current.id, wrapped, token.data))

    def blind_index(self, name: str) -> str:
        return hmac_sm3(self.current.index_key, name_key(name).encode()).hex()

    def blind_indexes(self, name: str) -> list[str]:
        """The index of a name under every key of the ring: a lookup during a rotation finds
        rows not yet moved to the current key."""
        text = name_key(name).encode()
        return [hmac_sm3(key.index_key, text).hex() for key in self.keys.values()]


def keyring() -> Keyring:
    return current_app.extensions["data_keyring"]


def init_app(app) -> None:
    app.extensions["data_keyring"] = Keyring.from_config(app.config)


# --- sealed attributes of models ------------------------------------------------------------

SEALED: list[SealedText] = []  # every sealed attribute of every model, for the rotation


class SealedText:
    """A text attribute of a model kept sealed in a mapped column.

    `stored` names the mapped attribute of the column (which holds the sealed text); setting
    this attribute seals at once, reading opens (once per stored value: the plaintext is kept
    on the instance). The row identity bound into the value is the row's `seal_id`, a random
    id given on first sealing and unique in its table: the integer key is known only after the
    INSERT, too late to seal before it, and the plaintext must never reach the database. Moving
    a sealed value to another row fails to open; moving it together with the seal id is moving
    the row itself, which a unique seal id cannot duplicate.

    `when`: the name of a boolean attribute fixed at creation; where it is false the column
    holds the plain text (a timeline step that is no internal note). `index`: the attribute
    that holds the value's blind index, for exact lookups.
    """

    def __init__(self, stored: str, *, when: str | None = None, index: str | None = None):
        self.stored, self.when, self.index = stored, when, index

    def __set_name__(self, owner, name: str) -> None:
        self.owner, self.name = owner, name
        self.cache = f"_opened_{name}"
        SEALED.append(self)

    @property
    def table(self) -> sa.Table:
        return self.owner.__table__

    @property
    def column(self) -> sa.Column:
        return self.owner.__mapper__.attrs[self.stored].columns[0]

    def place(self, seal_id: str) -> tuple[str, str, str]:
        return (self.table.name, self.column.name, seal_id)

    def sealed(self, obj) -> bool:
        return self.when is None or bool(getattr(obj, self.when))

    def __get__(self, obj, owner=None):
        if obj is None:
            return self
        stored = getattr(obj, self.stored)
        if stored is None or not self.sealed(obj):
            return stored
        opened = obj.__dict__.get(self.cache)
        if opened is None or opened[0] != stored:
            opened = (stored, keyring().open(stored, self.place(obj.seal_id)))
            obj.__dict__[self.cache] = opened
        return opened[1]

    def __set__(self, obj, value: str | None) -> None:
        if value is None:  # nothing to seal (a second factor removed)
            setattr(obj, self.stored, None)
            obj.__dict__.pop(self.cache, None)
            if self.index is not None:
                setattr(obj, self.index, None)
            return
        if self.index is not None:
            setattr(obj, self.index, keyring().blind_index(value))
        if not self.sealed(obj):
            setattr(obj, self.stored, value)
            return
        if obj.seal_id is None:
            obj.seal_id = new_public_id()
        stored = keyring().seal(value, self.place(obj.seal_id))
        setattr(obj, self.stored, stored)
        obj.__dict__[self.cache] = (stored, value)


# --- rotation -------------------------------------------------------------------------------

class RotationRefused(Exception):
    pass


def _in_use(session, field: SealedText) -> dict[str, int]:
    """How many values of the field each master key wraps (read in the database: the key id
    is the third part of the sealed text)."""
    column, table = field.column, field.table
    query = sa.select(column).where(column.is_not(None))
    if field.when:
        query = query.where(table.c[field.when].is_(True))
    counts: dict[str, int] = {}
    for (text,) in session.execute(query.execution_options(yield_per=1000)):
        key_id = key_id_of(text)
        counts[key_id] = counts.get(key_id, 0) + 1
    return counts


def rotate(session, ring: Keyring, *, batch_size: int = 500,
           report: Callable[[str], None] = lambda _text: None) -> int:
    """Wrap every sealed value's data key under the current master key and compute the blind
    indexes again under it, `batch_size` rows at a time, committing each batch, so that the
    application keeps running. Running it again changes nothing. A value wrapped under a key
    the ring does not hold refuses the whole rotation before anything is changed. Returns the
    rows changed.

    Each row is updated only if its sealed values are still those read (a row changed or
    removed meanwhile is left alone; the application seals new values with the current key
    already)."""
    unknown = {}
    for field in SEALED:
        for key_id, n in _in_use(session, field).items():
            if key_id not in ring.keys:
                unknown[key_id] = unknown.get(key_id, 0) + n
    session.rollback()
    if unknown:
        raise RotationRefused(
            "nothing was changed: " + ", ".join(
                f"{n} value(s) are sealed under key {key_id}" for key_id, n in unknown.items())
            + f", which is neither DATA_KEY (key {ring.current.id}) nor in DATA_KEYS_RETIRED. "
              "Give the old key in DATA_KEYS_RETIRED.")
    changed = 0
    groups: dict[tuple, list[SealedText]] = {}
    for field in SEALED:
        groups.setdefault((field.table, field.when), []).append(field)
    for (table, when), fields in groups.items():
        changed += _rotate(session, ring, table, when, fields, batch_size, report)
    return changed


def _rotate(session, ring, table, when, fields, batch_size, report) -> int:
    """The fields of one table that share their condition (`when`), batch by batch."""
    key, seal_id = table.c.id, table.c.seal_id
    columns = [f.column for f in fields]
    indexes = {f.column.name: table.c[f.index] for f in fields if f.index}
    last, changed = 0, 0
    while True:
        query = sa.select(key, seal_id, *columns, *indexes.values()).where(key > last)
        if when:
            query = query.where(table.c[when].is_(True))
        rows = session.execute(query.order_by(key).limit(batch_size)).all()
        if not rows:
            return changed
        updates = []
        for row in rows:
            try:
                values = _rotated(ring, table, row, columns, indexes)
            except SealError as exc:
                raise SealError(f"{table.name} row {row.id}: {exc}") from None
            if values:
                updates.append((row, values))
        for row, values in updates:
            unchanged = [c == row._mapping[c] for c in columns]
            session.execute(sa.update(table).where(key == row.id, *unchanged).values(values))
        session.commit()
        changed += len(updates)
        last = rows[-1].id
        report(f"{table.name}: {changed} row(s) changed, up to id {last}")


def _rotated(ring, table, row, columns, indexes) -> dict[str, str]:
    """The new values of one row: each sealed value rewrapped, each blind index recomputed
    (only those that differ)."""
    values = {}
    for column in columns:
        old = row._mapping[column]
        if old is None:
            continue
        new = ring.rewrap(old)
        if new != old:
            values[column.name] = new
        if column.name in indexes:
            plain = ring.open(old, (table.name, column.name, row.seal_id))
            index = ring.blind_index(plain)
            if index != row._mapping[indexes[column.name]]:
                values[indexes[column.name].name] = index
    return values
