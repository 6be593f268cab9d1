"""The one module that talks to apprise: e-mail over SMTP and signed JSON webhooks.

apprise is blocking (smtplib, requests), so callers run :meth:`Sender.send` in a thread.
apprise reports failure as a falsy result and logs the reason; the reason is captured
with ``apprise.LogCapture`` so the outbox can store it in ``last_error``.

Webhook signature: the JSON body apprise posts is ``{"title", "message", ...}`` with our
event, serialised, in ``message``. The header ``X-Aftercare-Signature: t=<unix>,v1=<hex>``
is HMAC-SHA256 over ``"<t>.<message>"`` with the shared secret, so a receiver verifies the
exact string it parses. ``X-Aftercare-Event-Id`` repeats the stable event id for
deduplication before parsing.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
from dataclasses import dataclass
from typing import Final, Protocol
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import apprise

__all__ = [
    "SIGNATURE_HEADER",
    "AppriseSender",
    "DeliveryFailed",
    "Message",
    "Sender",
    "sign_webhook",
    "verify_webhook",
]

SIGNATURE_HEADER: Final = "X-Aftercare-Signature"
EVENT_ID_HEADER: Final = "X-Aftercare-Event-Id"

logger = logging.getLogger(__name__)


class DeliveryFailed(Exception):  # noqa: N818 — reads as the condition
    """A channel did not accept the notice; ``str(exc)`` says why."""


@dataclass(frozen=True, slots=True)
class Message:
    """One notice ready for one channel.

    Attributes:
        channel: ``email`` or ``webhook``.
        recipient: the e-mail address (``email``); unused for webhooks.
        subject: the title.
        body: the text (``email``) or the serialised JSON event (``webhook``).
        event_id: the stable id receivers deduplicate on.
        timestamp: unix seconds for the webhook signature (from the injected clock).
    """

    channel: str
    recipient: str
    subject: str
    body: str
    event_id: str
    timestamp: int


class Sender(Protocol):
    """Delivers one message or raises :class:`DeliveryFailed` (blocking)."""

    def send(self, message: Message) -> None:
        """Deliver ``message``."""
        ...


def sign_webhook(secret: str, timestamp: int, message: str) -> str:
    """The signature header value for ``message`` at ``timestamp``."""
    mac = hmac.new(secret.encode(), f"{timestamp}.{message}".encode(), hashlib.sha256)
    return f"t={timestamp},v1={mac.hexdigest()}"


def verify_webhook(secret: str, header: str, message: str) -> bool:
    """Whether ``header`` is a valid signature of ``message`` (receivers' side)."""
    parts = dict(p.split("=", 1) for p in header.split(",") if "=" in p)
    if "t" not in parts or "v1" not in parts or not parts["t"].isdigit():
        return False
    expected = sign_webhook(secret, int(parts["t"]), message)
    return hmac.compare_digest(expected, header)


def _with_query(url: str, extra: dict[str, str]) -> str:
    parts = urlsplit(url)
    query = [*parse_qsl(parts.query, keep_blank_values=True), *extra.items()]
    return urlunsplit(parts._replace(query=urlencode(query)))


class AppriseSender:
    """Sends through apprise.

    Args:
        smtp_url: apprise ``mailto://``/``mailtos://`` URL without ``to``.
        webhook_url: apprise ``json://``/``jsons://`` URL.
        webhook_secret: the HMAC key; webhooks are refused without it.
    """

    def __init__(
        self,
        *,
        smtp_url: str | None,
        webhook_url: str | None,
        webhook_secret: str | None,
    ) -> None:
        self.smtp_url = smtp_url
        self.webhook_url = webhook_url
        self.webhook_secret = webhook_secret

    def send(self, message: Message) -> None:
        """Deliver one message; raises :class:`DeliveryFailed` with apprise's reason."""
        url = self._url_for(message)
        client = apprise.Apprise()
        with apprise.LogCapture(level=logging.WARNING, fmt="%(message)s") as captured:  # type: ignore[no-untyped-call]
            ok = bool(client.add(url)) and bool(
                client.notify(
                    body=message.body, title=message.subject, body_format=apprise.NotifyFormat.TEXT
                )
            )
            reason = captured.getvalue().strip().splitlines()
        if not ok:
            raise DeliveryFailed(reason[-1] if reason else f"{message.channel} delivery failed")
        logger.debug("notice %s sent by %s", message.event_id, message.channel)

    def _url_for(self, message: Message) -> str:
        if message.channel == "email":
            if not self.smtp_url:
                raise DeliveryFailed("no SMTP server configured")
            return _with_query(self.smtp_url, {"to": message.recipient})
        if message.channel == "webhook":
            if not self.webhook_url or not self.webhook_secret:
                raise DeliveryFailed("no webhook URL or secret configured")
            signature = sign_webhook(self.webhook_secret, message.timestamp, message.body)
            headers = {f"+{SIGNATURE_HEADER}": signature, f"+{EVENT_ID_HEADER}": message.event_id}
            return _with_query(self.webhook_url, headers)
        raise DeliveryFailed(f"unknown channel {message.channel!r}")
