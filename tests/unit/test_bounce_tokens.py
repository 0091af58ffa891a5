"""Bounce tokens: the signed outbox id in each mail's VERP return path."""

from __future__ import annotations

from gateway.replykeys import Role, bounce_tokens_in, return_path

from .fakes import NOW, SUPPORT, reply_keys


def test_a_token_names_its_outbox_row_under_the_current_and_old_secrets() -> None:
    old, new = reply_keys("old-secret"), reply_keys("new-secret", ("old-secret",))
    for outbox_id in (1, 36, 123_456_789):
        assert new.verify_bounce(new.bounce_token(outbox_id)) == outbox_id
        assert new.verify_bounce(old.bounce_token(outbox_id)) == outbox_id  # rotation
        assert new.verify_bounce(new.bounce_token(outbox_id).upper()) == outbox_id  # folded
    assert old.verify_bounce(new.bounce_token(1)) is None  # a secret it never had


def test_a_tampered_or_made_up_token_names_nothing() -> None:
    keys = reply_keys("secret")
    token = keys.bounce_token(42)
    body, _, mac = token.rpartition(".")
    assert keys.verify_bounce(keys.bounce_token(43).replace("b-17", "b-16")) is None
    assert keys.verify_bounce(f"{body}.{mac[:-1]}{'a' if mac[-1] != 'a' else 'b'}") is None
    for junk in ("", "b-", "b-1", "b-1.zz" + "a" * 16, token + "a", "x" * 500):
        assert keys.verify_bounce(junk) is None


def test_tokens_and_reply_keys_do_not_stand_for_each_other() -> None:
    keys = reply_keys("secret")
    assert keys.verify(keys.bounce_token(7), SUPPORT, NOW) is None
    assert keys.verify_bounce(keys.sign(7, Role.MEMBER, SUPPORT, NOW)) is None


def test_the_return_path_fits_an_smtp_local_part() -> None:
    keys = reply_keys("secret")
    path = return_path(SUPPORT, keys.bounce_token(2**40))
    assert len(path.partition("@")[0]) <= 64 and path.endswith("@example.org")
    assert bounce_tokens_in((path.upper(), "other+b-1@example.org"), SUPPORT) == [
        keys.bounce_token(2**40)]
    long_local = "a" * 50 + "@example.org"  # no room for a token: the plain address
    assert return_path(long_local, keys.bounce_token(1)) == long_local
