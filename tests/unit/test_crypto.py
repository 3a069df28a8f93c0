"""supervise.crypto: sealed values open only where they were sealed, under a key of the ring;
anything else is a SealError, never another text."""

from __future__ import annotations

import os

import pytest
from cryptography.hazmat.primitives import hashes

from supervise.crypto import CIPHERS, Keyring, SealError, Token, hmac_sm3, key_id_of

OLD, NEW, OTHER = os.urandom(32), os.urandom(32), os.urandom(32)
PLACE = ("referral_persons", "name", "row-a")
TEXTS = ("张三", "", "欧阳·娜娜 Smith", "长" * 4000)


@pytest.mark.parametrize("cipher", sorted(CIPHERS))
@pytest.mark.parametrize("text", TEXTS)
def test_round_trip(cipher, text):
    ring = Keyring(OLD, cipher=cipher)
    sealed = ring.seal(text, PLACE)
    assert ring.open(sealed, PLACE) == text
    token = Token.parse(sealed)
    assert (token.cipher, token.key_id) == (cipher, ring.current.id)
    assert sealed.count(".") == 4 and sealed.isascii()
    if text:
        assert text not in sealed


def test_each_seal_has_its_own_data_key_and_nonce():
    ring = Keyring(OLD)
    first, second = (Token.parse(ring.seal("张三", PLACE)) for _ in range(2))
    assert first.wrapped != second.wrapped and first.data != second.data


def test_sm4_is_the_default_and_aes_a_setting():
    assert Keyring(OLD).cipher == "sm4-gcm"
    assert len(Token.parse(Keyring(OLD).seal("x", PLACE)).wrapped) == 12 + 16 + 16
    assert len(Token.parse(Keyring(OLD, cipher="aes-gcm").seal("x", PLACE)).wrapped) == \
        12 + 32 + 16
    with pytest.raises(ValueError):
        Keyring(OLD, cipher="des")


@pytest.mark.parametrize("cipher", sorted(CIPHERS))
@pytest.mark.parametrize("elsewhere", [
    ("referral_persons", "name", "row-b"),  # another row
    ("referral_persons", "title", "row-a"),  # another column
    ("referral_timeline", "name", "row-a"),  # another table
])
def test_a_value_moved_elsewhere_does_not_open(cipher, elsewhere):
    ring = Keyring(OLD, cipher=cipher)
    with pytest.raises(SealError, match="moved"):
        ring.open(ring.seal("张三", PLACE), elsewhere)


@pytest.mark.parametrize("cipher", sorted(CIPHERS))
def test_every_changed_byte_is_detected(cipher):
    ring = Keyring(OLD, cipher=cipher)
    token = Token.parse(ring.seal("张三", PLACE))
    for part in ("wrapped", "data"):
        raw = getattr(token, part)
        for i in range(len(raw)):
            changed = bytearray(raw)
            changed[i] ^= 0x01
            forged = Token(**{**vars(token), part: bytes(changed)})
            with pytest.raises(SealError):
                ring.open(str(forged), PLACE)


def test_a_changed_header_is_detected():
    sm4, aes = Keyring(OLD), Keyring(OLD, cipher="aes-gcm")
    sealed = sm4.seal("张三", PLACE)
    with pytest.raises(SealError):
        aes.open(sealed.replace("sm4-gcm", "aes-gcm"), PLACE)


@pytest.mark.parametrize("junk", ["", "张三", "s1.sm4-gcm.abc", "s1.rot13.k.AAAA.AAAA",
                                  "s2.sm4-gcm.k.AAAA.AAAA", "s1.sm4-gcm.k.@@@@.AAAA",
                                  "s1.sm4-gcm.k..", "s1.sm4-gcm.k.AAAA.AAAA.AAAA", None, 12])
def test_junk_is_no_sealed_value(junk):
    with pytest.raises(SealError):
        Keyring(OLD).open(junk, PLACE)


def test_the_wrong_key_does_not_open():
    sealed = Keyring(OLD).seal("张三", PLACE)
    with pytest.raises(SealError, match="neither DATA_KEY nor one of DATA_KEYS_RETIRED"):
        Keyring(NEW).open(sealed, PLACE)
    with pytest.raises(SealError, match="neither"):
        Keyring(NEW, [OTHER]).open(sealed, PLACE)


def test_a_key_id_names_the_key_and_nothing_of_it():
    ring = Keyring(OLD)
    assert key_id_of(ring.seal("张三", PLACE)) == ring.current.id
    assert ring.current.id != Keyring(NEW).current.id
    assert ring.current.id not in OLD.hex() and len(ring.current.id) == 12
    assert OLD.hex() not in repr(ring.current)


def test_a_forged_key_id_does_not_open():
    ring = Keyring(NEW, [OLD])
    token = Token.parse(Keyring(OLD).seal("张三", PLACE))
    with pytest.raises(SealError, match="changed"):
        ring.open(str(Token(token.cipher, ring.current.id, token.wrapped, token.data)), PLACE)


@pytest.mark.parametrize("cipher", sorted(CIPHERS))
def test_rewrap_moves_a_value_to_the_current_key(cipher):
    sealed = Keyring(OLD, cipher=cipher).seal("张三", PLACE)
    ring = Keyring(NEW, [OLD], cipher="sm4-gcm")
    moved = ring.rewrap(sealed)
    assert key_id_of(moved) == ring.current.id
    assert Token.parse(moved).cipher == cipher  # the data keeps its cipher
    assert Token.parse(moved).data == Token.parse(sealed).data  # only the data key is wrapped
    assert Keyring(NEW).open(moved, PLACE) == "张三"
    assert ring.rewrap(moved) == moved
    with pytest.raises(SealError):
        Keyring(OLD).open(moved, PLACE)


def test_blind_index_is_keyed_and_compares_names_as_names():
    ring = Keyring(OLD)
    assert ring.blind_index("张三") == ring.blind_index(" 张 三 ") == ring.blind_index("张\u200b三")
    assert ring.blind_index("ＺＨＡＮＧ San") == ring.blind_index("zhangsan")
    assert ring.blind_index("张三") != ring.blind_index("张叁")
    assert ring.blind_index("张三") != Keyring(NEW).blind_index("张三")
    assert len(ring.blind_index("张三")) == 64
    rotating = Keyring(NEW, [OLD])
    assert rotating.blind_indexes("张三") == [Keyring(NEW).blind_index("张三"),
                                              ring.blind_index("张三")]


def test_sm3_is_sm3():
    """GB/T 32905 example 1: SM3("abc"); HMAC-SM3 as RFC 2104 builds it."""
    digest = hashes.Hash(hashes.SM3())
    digest.update(b"abc")
    assert digest.finalize().hex() == (
        "66c7f0f462eeedd9d1f2d46bdc10e4e24167c4875cf2f7a2297da02b8f4ba8e0")
    key = b"k" * 16

    def sm3(data):
        h = hashes.Hash(hashes.SM3())
        h.update(data)
        return h.finalize()

    padded = key + b"\0" * (64 - len(key))
    inner = sm3(bytes(b ^ 0x36 for b in padded) + b"message")
    assert hmac_sm3(key, b"message") == sm3(bytes(b ^ 0x5C for b in padded) + inner)
