from __future__ import annotations

from datetime import timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gateway.replykeys import ReplyKey, Role, address_with_key, keys_in

from .fakes import NOW, SECRET, SUPPORT, reply_keys

KEYS = reply_keys(SECRET)
ALICE = "alice@members.example"
MAC_ALPHABET = "abcdefghijklmnopqrstuvwxyz234567"


def test_round_trip() -> None:
    key = KEYS.sign(42, Role.MEMBER, ALICE, NOW)
    assert KEYS.verify(key, ALICE, NOW) == ReplyKey(42, Role.MEMBER, ALICE)
    agent_key = KEYS.sign(42, Role.AGENT, "desk@example.org", NOW)
    assert KEYS.verify(agent_key, "desk@example.org", NOW) == ReplyKey(
        42, Role.AGENT, "desk@example.org")


def test_key_is_lower_case_and_names_ticket_and_role() -> None:
    key = KEYS.sign(42, Role.AGENT, ALICE, NOW)
    assert key == key.lower()
    assert key.startswith("a42.")


def test_wrong_recipient() -> None:
    key = KEYS.sign(42, Role.MEMBER, ALICE, NOW)
    assert KEYS.verify(key, "mallory@members.example", NOW) is None


def test_recipient_case_does_not_matter() -> None:
    key = KEYS.sign(42, Role.MEMBER, "Alice@Members.Example", NOW)
    assert KEYS.verify(key, ALICE, NOW) is not None


def test_a_look_alike_recipient_is_another_recipient() -> None:
    # str.lower() folds the Kelvin sign (U+212A) into "k": only A-Z may fold.
    key = KEYS.sign(42, Role.MEMBER, "kate@members.example", NOW)
    assert KEYS.verify(key, "\u212aate@members.example", NOW) is None
    assert KEYS.verify(key, "KATE@members.example", NOW) is not None


def test_modified_character() -> None:
    key = KEYS.sign(42, Role.MEMBER, ALICE, NOW)
    last = "b" if key[-1] != "b" else "c"
    assert KEYS.verify(key[:-1] + last, ALICE, NOW) is None


def test_other_ticket_or_role() -> None:
    key = KEYS.sign(42, Role.MEMBER, ALICE, NOW)
    assert KEYS.verify("m43" + key[3:], ALICE, NOW) is None
    assert KEYS.verify("a" + key[1:], ALICE, NOW) is None


def test_expiry() -> None:
    keys = reply_keys(SECRET, valid_days=30)
    key = keys.sign(42, Role.MEMBER, ALICE, NOW)
    assert keys.verify(key, ALICE, NOW + timedelta(days=30)) is not None
    assert keys.verify(key, ALICE, NOW + timedelta(days=31)) is None
    assert KEYS.verify(KEYS.sign(42, Role.MEMBER, ALICE, NOW), ALICE,
                       NOW + timedelta(days=181)) is None


def test_unknown_key_id() -> None:
    key = reply_keys("some-other-secret").sign(42, Role.MEMBER, ALICE, NOW)
    assert KEYS.verify(key, ALICE, NOW) is None


def test_old_secret_still_verifies_after_rotation() -> None:
    old_key = KEYS.sign(42, Role.MEMBER, ALICE, NOW)
    rotated = reply_keys("new-secret", old_secrets=(SECRET,))
    assert rotated.verify(old_key, ALICE, NOW) == ReplyKey(42, Role.MEMBER, ALICE)
    new_key = rotated.sign(42, Role.MEMBER, ALICE, NOW)
    assert new_key != old_key
    assert rotated.verify(new_key, ALICE, NOW) is not None
    assert KEYS.verify(new_key, ALICE, NOW) is None  # the old desk does not know the new one


def test_case_folded_key_still_verifies() -> None:
    key = KEYS.sign(42, Role.MEMBER, ALICE, NOW)
    assert KEYS.verify(key.upper(), ALICE, NOW) == ReplyKey(42, Role.MEMBER, ALICE)


@pytest.mark.parametrize("junk", ["", "m42", "x42.abc.00" + "a" * 26, "m42.abc.00" + "a" * 25,
                                  "m42..00" + "a" * 26, "m42.abc.00" + "1" * 26])
def test_malformed(junk: str) -> None:
    assert KEYS.verify(junk, ALICE, NOW) is None


def test_secret_is_required() -> None:
    with pytest.raises(ValueError, match="secret"):
        reply_keys("")


def test_address_with_key_and_keys_in() -> None:
    key = KEYS.sign(7, Role.MEMBER, ALICE, NOW)
    address = address_with_key(SUPPORT, key)
    assert address == f"support+{key}@example.org"
    assert keys_in((address,), SUPPORT) == [key]
    assert keys_in((address.upper(), "other+x@example.org", "support@example.org",
                    "support+y@elsewhere.example", "support+@example.org"), SUPPORT) == [key]


recipients = st.emails().map(str.lower)
tickets = st.integers(min_value=1, max_value=999_999_999)


@given(ticket=tickets, role=st.sampled_from(Role), recipient=recipients)
def test_random_round_trip(ticket: int, role: Role, recipient: str) -> None:
    key = KEYS.sign(ticket, role, recipient, NOW)
    assert KEYS.verify(key, recipient, NOW) == ReplyKey(ticket, role, recipient)
    # The local part `support+<key>` stays within the 64 characters RFC 5321 allows.
    assert len(address_with_key(SUPPORT, key).partition("@")[0]) <= 64


@given(ticket=tickets, recipient=recipients, data=st.data())
def test_any_single_mutation_of_the_mac_fails(ticket: int, recipient: str,
                                              data: st.DataObject) -> None:
    key = KEYS.sign(ticket, Role.MEMBER, recipient, NOW)
    position = data.draw(st.integers(min_value=len(key) - 26, max_value=len(key) - 1))
    original = key[position]
    replacement = data.draw(st.characters(codec="utf-8").filter(
        lambda ch: ch.lower() != original))
    mutated = key[:position] + replacement + key[position + 1:]
    assert KEYS.verify(mutated, recipient, NOW) is None


@given(ticket=tickets, recipient=recipients, data=st.data())
def test_any_mac_substitution_within_the_alphabet_fails(ticket: int, recipient: str,
                                                        data: st.DataObject) -> None:
    key = KEYS.sign(ticket, Role.MEMBER, recipient, NOW)
    position = data.draw(st.integers(min_value=len(key) - 26, max_value=len(key) - 1))
    replacement = data.draw(st.sampled_from(MAC_ALPHABET.replace(key[position], "")))
    assert KEYS.verify(key[:position] + replacement + key[position + 1:], recipient, NOW) is None


def _secret_with_the_same_key_id(secret: str) -> str:
    """Another secret whose 2-hex-digit key id collides with `secret`'s (about 1 in 256)."""
    probe = reply_keys(secret).sign(1, Role.MEMBER, ALICE, NOW).split(".")[2][:2]
    for n in range(100_000):
        candidate = f"rotated-{n}"
        if reply_keys(candidate).sign(1, Role.MEMBER, ALICE, NOW).split(".")[2][:2] == probe:
            return candidate
    raise AssertionError("no colliding secret found")


def test_old_secret_verifies_even_when_the_key_ids_collide() -> None:
    new = _secret_with_the_same_key_id(SECRET)
    assert new != SECRET
    old_key = KEYS.sign(42, Role.MEMBER, ALICE, NOW)
    rotated = reply_keys(new, old_secrets=(SECRET,))
    assert rotated.verify(old_key, ALICE, NOW) == ReplyKey(42, Role.MEMBER, ALICE)
