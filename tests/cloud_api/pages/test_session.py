from __future__ import annotations

import time

from cloud_api.pages.session import SessionCodec


def test_session_round_trips_user_and_csrf() -> None:
    codec = SessionCodec("s" * 32)
    session, cookie = codec.issue("u-1")
    read = codec.read(cookie)
    assert read == session
    assert read is not None
    assert read.csrf_ok(session.csrf)
    assert not read.csrf_ok("forged")
    assert not read.csrf_ok(None)


def test_cookie_signed_with_another_secret_is_rejected() -> None:
    _, cookie = SessionCodec("a" * 32).issue("u-1")
    assert SessionCodec("b" * 32).read(cookie) is None


def test_tampered_cookie_is_rejected() -> None:
    codec = SessionCodec("s" * 32)
    _, cookie = codec.issue("u-1")
    assert codec.read(cookie[:-2] + ("AA" if not cookie.endswith("AA") else "BB")) is None
    assert codec.read("") is None
    assert codec.read(None) is None


def test_expired_session_is_rejected() -> None:
    codec = SessionCodec("s" * 32, max_age_s=1)
    _, cookie = codec.issue("u-1")
    time.sleep(2.1)
    assert codec.read(cookie) is None
