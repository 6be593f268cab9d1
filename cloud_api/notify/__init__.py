"""Customer notices: templates, signed customer links, apprise delivery and the outbox worker.

Exceptions::

    LinkError               a customer link that does not open a ticket
    ├── LinkForged          not signed by us, or altered
    └── LinkExpired         genuine but past its expiry
    DeliveryFailed          a channel refused a notice (retried by the worker)
    TemplateMissing         no template for a notice kind and language
"""

from __future__ import annotations

from cloud_api.notify.channels import AppriseSender, DeliveryFailed, Message, Sender
from cloud_api.notify.config import (
    NoticeConfig,
    RetryPolicy,
    config_for_session,
    install_notice_config,
)
from cloud_api.notify.install import install_notices, notice_config_from_settings
from cloud_api.notify.links import CustomerLink, LinkError, LinkExpired, LinkForged, LinkSigner
from cloud_api.notify.render import RenderedNotice, TemplateMissing, render_notice

__all__ = [
    "AppriseSender",
    "CustomerLink",
    "DeliveryFailed",
    "LinkError",
    "LinkExpired",
    "LinkForged",
    "LinkSigner",
    "Message",
    "NoticeConfig",
    "RenderedNotice",
    "RetryPolicy",
    "Sender",
    "TemplateMissing",
    "config_for_session",
    "install_notice_config",
    "install_notices",
    "notice_config_from_settings",
    "render_notice",
]
