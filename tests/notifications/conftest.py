"""A real SMTP server (aiosmtpd) on a free local port, with the e-mail settings pointed at it."""

import asyncio
import email
import logging
import socket
import threading
from dataclasses import dataclass
from email.message import EmailMessage
from email.policy import default as default_policy

import pytest
from aiosmtpd.controller import Controller

from config.celery import app as celery_app
from tests.payments.conftest import fast_retries, simulator  # noqa: F401  (fixtures for the card flows)


@pytest.fixture(autouse=True)
def consumers_run_in_process(monkeypatch):
    """Celery eager, as the embedded default and the suite's settings have it: publish()'s on-commit
    trigger runs the e-mail consumer in this process, right after the commit."""
    monkeypatch.setitem(celery_app.conf, "task_always_eager", True)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass(frozen=True)
class ReceivedMail:
    sender: str
    recipients: list[str]
    message: EmailMessage

    @property
    def subject(self) -> str:
        return self.message["Subject"]

    @property
    def text(self) -> str:
        return self.message.get_body(preferencelist=("plain",)).get_content()

    @property
    def html(self) -> str:
        return self.message.get_body(preferencelist=("html",)).get_content()


class SmtpServer:
    """Accepts every mail and keeps it; stop() makes the port refuse connections (a mail server that is down).

    `delay` slows each DATA answer down (seconds); `refuse_with` answers DATA with that SMTP reply instead.
    """

    def __init__(self):
        self.port = free_port()
        self.received: list[ReceivedMail] = []
        self.delay = 0.0
        self.refuse_with: str | None = None
        self._mutex = threading.Lock()
        self._controller = None

    async def handle_DATA(self, server, session, envelope):
        await asyncio.sleep(self.delay)
        if self.refuse_with:
            return self.refuse_with
        message = email.message_from_bytes(envelope.original_content or envelope.content, policy=default_policy)
        with self._mutex:
            self.received.append(ReceivedMail(envelope.mail_from, list(envelope.rcpt_tos), message))
        return "250 Message accepted for delivery"

    def start(self) -> None:
        self._controller = Controller(self, hostname="127.0.0.1", port=self.port)
        self._controller.start()

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    def mails(self) -> list[ReceivedMail]:
        with self._mutex:
            return list(self.received)

    def to(self, address: str) -> list[ReceivedMail]:
        return [mail for mail in self.mails() if address in mail.recipients]


@pytest.fixture
def smtp_server(settings, monkeypatch):
    """A running SMTP server; Django sends there (as EMAIL_URL=smtp://127.0.0.1:<port> would)."""
    # aiosmtpd logs every connection at INFO from its own thread, also after a test's output is closed.
    monkeypatch.setattr(logging.getLogger("mail.log"), "level", logging.WARNING)
    server = SmtpServer()
    server.start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST = "127.0.0.1"
    settings.EMAIL_PORT = server.port
    settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
    settings.EMAIL_HOST_USER = settings.EMAIL_HOST_PASSWORD = ""
    settings.EMAIL_TIMEOUT = 5
    settings.SITE_URL = "https://shop.example.com"
    settings.DEFAULT_FROM_EMAIL = "Flashcart <orders@shop.example.com>"
    yield server
    server.stop()

