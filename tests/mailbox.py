"""A real SMTP server (aiosmtpd) that keeps the mail the app sends, for tests that follow it.

The ``mailbox`` fixture points Django's default mailer at the server with the SMTP backend, so
a message goes over the real protocol (EHLO, MAIL FROM, RCPT TO, DATA) exactly as it would to
a deployment's relay; the test then reads it as the recipient would and follows its links::

    def test_invitation(mailbox, ...):
        ...
        message = mailbox.wait_for(to="ada@example.org", subject="invited")
        page.goto(mailbox.link(message, "/accounts/invitation/"))

It works for the test process and for the live server's threads (they share the settings).
Mail sent by the Celery worker process goes where that process's settings say (locmem), so
flows that e-mail from a task are tested through the task's own test.
"""

from __future__ import annotations

import re
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from email import message_from_bytes
from email.message import EmailMessage
from email.policy import default as default_policy

import pytest

LINK = re.compile(r"https?://[^\s<>\"')]+")


@dataclass
class Mailbox:
    """What the server received, in order; cleared before each test."""

    messages: list[EmailMessage] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    port: int = 0

    # aiosmtpd's handler hook: called on the server's thread for each DATA command.
    async def handle_DATA(self, server, session, envelope) -> str:  # noqa: N802 (aiosmtpd's name)
        message = message_from_bytes(envelope.original_content or b"", policy=default_policy)
        assert isinstance(message, EmailMessage)
        message["X-Envelope-To"] = ", ".join(envelope.rcpt_tos)
        with self.lock:
            self.messages.append(message)
        return "250 Message accepted for delivery"

    def clear(self) -> None:
        with self.lock:
            self.messages.clear()

    def sent_to(self, address: str) -> list[EmailMessage]:
        with self.lock:
            return [m for m in self.messages if address in m["X-Envelope-To"]]

    def wait_for(self, *, to: str, subject: str = "", timeout: float = 10.0) -> EmailMessage:
        """The first message to ``to`` whose subject contains ``subject`` (case-insensitive),
        waiting up to ``timeout`` seconds for it to arrive."""
        deadline = time.monotonic() + timeout
        while True:
            for message in self.sent_to(to):
                if subject.lower() in str(message["Subject"]).lower():
                    return message
            if time.monotonic() > deadline:
                seen = [(m["X-Envelope-To"], str(m["Subject"])) for m in self.messages]
                raise AssertionError(f"no mail to {to!r} about {subject!r}; received: {seen}")
            time.sleep(0.05)

    @staticmethod
    def text(message: EmailMessage) -> str:
        """The plain-text body (the part a text-only reader shows)."""
        part = message.get_body(preferencelist=("plain", "html"))
        assert part is not None, "the message has no body"
        return part.get_content()

    def links(self, message: EmailMessage) -> list[str]:
        return LINK.findall(self.text(message))

    def link(self, message: EmailMessage, containing: str) -> str:
        """The one link in ``message`` whose URL contains ``containing``."""
        found = [url for url in self.links(message) if containing in url]
        assert len(found) == 1, f"expected one link with {containing!r}, found {found}"
        return found[0]


@pytest.fixture(scope="session")
def _smtp_server() -> Iterator[Mailbox]:
    from aiosmtpd.controller import Controller

    with socket.socket() as probe:  # a free port (the controller checks it can connect)
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    mailbox = Mailbox(port=port)
    controller = Controller(mailbox, hostname="127.0.0.1", port=port)
    controller.start()
    yield mailbox
    controller.stop()


@pytest.fixture
def mailbox(_smtp_server: Mailbox, settings) -> Mailbox:
    """The app's mail goes to a real SMTP server for this test; the test reads it back."""
    _smtp_server.clear()
    settings.MAILERS = {
        "default": {
            "BACKEND": "django.core.mail.backends.smtp.EmailBackend",
            "OPTIONS": {"host": "127.0.0.1", "port": _smtp_server.port, "timeout": 10},
        }
    }
    return _smtp_server
