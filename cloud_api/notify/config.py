"""What notices need to know about the deployment: link signing, channels and retry policy.

Built once from the cloud settings (:func:`notice_config_from_settings`) and handed to the
flow through the session factory's ``info`` (:func:`install_notice_config`), because
``queue_notice`` runs inside the flow's transaction and takes only the session.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any, Final
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session, sessionmaker

from cloud_api.notify.links import LinkSigner

__all__ = [
    "NOTICE_CONFIG_KEY",
    "NoticeConfig",
    "RetryPolicy",
    "config_for_session",
    "install_notice_config",
]

NOTICE_CONFIG_KEY: Final = "aftercare.notices"


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """Capped exponential backoff with jitter.

    Attributes:
        max_attempts: a notice is ``failed`` after this many failed attempts.
        base_s: the first retry waits about this long.
        cap_s: no wait is longer than this.
        jitter: the fraction of the wait that is random, so many notices failing together
            (an SMTP outage) do not all retry in the same second.
        lease_s: a notice being sent is not picked again for this long, so a worker that
            dies mid-send is taken over by another one afterwards.
    """

    max_attempts: int = 8
    base_s: float = 30.0
    cap_s: float = 3600.0
    jitter: float = 0.2
    lease_s: float = 300.0

    def delay_s(self, attempts: int, unit_random: float) -> float:
        """Seconds to wait after the ``attempts``-th failure (``unit_random`` in [0, 1))."""
        raw = min(self.cap_s, self.base_s * 2.0 ** max(0, attempts - 1))
        return raw * (1 - self.jitter) + raw * self.jitter * unit_random


@dataclass(frozen=True, slots=True)
class NoticeConfig:
    """Everything notices need from settings.

    Attributes:
        signer: signs the customer page links.
        public_base_url: where customers reach the cloud (``https://service.example.com``).
        smtp_url: apprise e-mail URL without recipients (``mailto://host:port?from=...``),
            or ``None`` to send no e-mail.
        webhook_url: apprise JSON URL (``json://`` / ``jsons://``), or ``None``.
        webhook_secret: HMAC key for the webhook signature header.
        timezone: the customers' time zone for the times written in notices.
        retry: the retry policy.
        poll_interval_s: how often the worker looks for due notices when idle.
    """

    signer: LinkSigner
    public_base_url: str
    smtp_url: str | None = None
    webhook_url: str | None = None
    webhook_secret: str | None = None
    timezone: ZoneInfo = field(default_factory=lambda: ZoneInfo("Asia/Shanghai"))
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    poll_interval_s: float = 5.0

    @property
    def link_ttl(self) -> timedelta:
        """How long customer links stay valid."""
        return self.signer.ttl

    def page_url(self, token: str) -> str:
        """The customer page for a token."""
        return f"{self.public_base_url.rstrip('/')}/c/{token}"


def install_notice_config(factory: sessionmaker[Session], config: NoticeConfig) -> None:
    """Make ``config`` reachable from every session the factory makes."""
    info: dict[str, Any] = dict(factory.kw.get("info") or {})
    info[NOTICE_CONFIG_KEY] = config
    factory.configure(info=info)


def config_for_session(session: Session) -> NoticeConfig | None:
    """The notice config installed on the session's factory, if any."""
    config = session.info.get(NOTICE_CONFIG_KEY)
    return config if isinstance(config, NoticeConfig) else None
