"""Wire notices into the app: config on the session factory, the worker in the lifespan.

``create_app`` calls :func:`install_notices` when this package is present.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import timedelta
from zoneinfo import ZoneInfo

from fastapi import FastAPI

from cloud_api.notify.channels import AppriseSender
from cloud_api.notify.config import NoticeConfig, install_notice_config
from cloud_api.notify.links import LinkSigner
from cloud_api.notify.worker import DeliveryStats, run_notice_worker
from cloud_api.settings import CloudSettings

__all__ = ["install_notices", "notice_config_from_settings"]

logger = logging.getLogger(__name__)


def notice_config_from_settings(settings: CloudSettings) -> NoticeConfig:
    """The notice config the settings describe."""
    return NoticeConfig(
        signer=LinkSigner(settings.secret_key, ttl=timedelta(days=settings.notify_link_ttl_days)),
        public_base_url=settings.public_url,
        smtp_url=settings.notify_smtp_url,
        webhook_url=settings.notify_webhook_url,
        webhook_secret=settings.notify_webhook_secret or settings.secret_key,
        timezone=ZoneInfo(settings.notify_timezone),
        poll_interval_s=settings.notify_poll_s,
    )


def install_notices(app: FastAPI) -> None:
    """Put the notice config on ``app.state.notices`` and every session; add the worker.

    ``app.state.notice_stats`` accumulates what the worker did (sent, retried, failed).
    """
    settings: CloudSettings = app.state.settings
    config = notice_config_from_settings(settings)
    app.state.notices = config
    app.state.notice_stats = DeliveryStats()
    install_notice_config(app.state.sessions, config)
    if not settings.notify_worker_enabled:
        return

    async def notice_worker(app: FastAPI) -> None:
        sender = AppriseSender(
            smtp_url=config.smtp_url,
            webhook_url=config.webhook_url,
            webhook_secret=config.webhook_secret,
        )
        logger.info("notice worker started (poll every %.1fs)", config.poll_interval_s)
        await run_notice_worker(
            app.state.sessions,
            app.state.clock,
            asyncio.Event(),  # never set: the lifespan cancels the task at shutdown
            sender=sender,
            retry=config.retry,
            poll_interval_s=config.poll_interval_s,
            totals=app.state.notice_stats,
        )

    app.state.background.append(notice_worker)
