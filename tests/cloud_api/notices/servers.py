"""Real local servers the notices are delivered to: SMTP (aiosmtpd) and an HTTP webhook."""

from __future__ import annotations

import email
import email.policy
import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from aiosmtpd.controller import Controller

from tests.support.ports import free_port


@dataclass
class Mailbox:
    """Every message the SMTP server accepted."""

    messages: list[EmailMessage] = field(default_factory=list)
    recipients: list[list[str]] = field(default_factory=list)

    async def handle_DATA(  # noqa: N802 — aiosmtpd hook name
        self,
        server: Any,  # noqa: ARG002 — aiosmtpd hook signature
        session: Any,  # noqa: ARG002 — aiosmtpd hook signature
        envelope: Any,
    ) -> str:
        raw = envelope.original_content or envelope.content
        message = email.message_from_bytes(raw, policy=email.policy.default)
        assert isinstance(message, EmailMessage)
        self.messages.append(message)
        self.recipients.append(list(envelope.rcpt_tos))
        return "250 OK"

    def text(self, index: int = -1) -> str:
        part = self.messages[index].get_body(preferencelist=("plain",))
        assert part is not None
        return str(part.get_content())


@contextmanager
def smtp_server(port: int | None = None) -> Iterator[tuple[Mailbox, int]]:
    """A real SMTP server on 127.0.0.1; yields the mailbox and port."""
    port = port or free_port()
    mailbox = Mailbox()
    controller = Controller(mailbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield mailbox, port
    finally:
        controller.stop()


def smtp_url(port: int) -> str:
    return f"mailto://127.0.0.1:{port}?from=service@aftercare.test&name=Aftercare&mode=insecure"


@dataclass
class Hooks:
    """Every request the webhook server received: (headers, parsed JSON body)."""

    requests: list[tuple[dict[str, str], dict[str, Any]]] = field(default_factory=list)
    status: int = 200


@contextmanager
def webhook_server() -> Iterator[tuple[Hooks, str]]:
    """A real HTTP server on 127.0.0.1 collecting POSTs; yields it and its base URL."""
    hooks = Hooks()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", "0"))
            body = json.loads(self.rfile.read(length))
            hooks.requests.append((dict(self.headers.items()), body))
            self.send_response(hooks.status)
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:  # noqa: ARG002 — keep tests quiet
            return

    server = ThreadingHTTPServer(("127.0.0.1", free_port()), Handler)
    thread = threading.Thread(target=server.serve_forever, name="webhook", daemon=True)
    thread.start()
    try:
        yield hooks, f"127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
