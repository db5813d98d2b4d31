"""The development mailbox: the mails Django's file e-mail backend wrote (local settings' default, EMAIL_URL=filemail:///var/mail).

The backend appends each message to a file per connection, followed by a line of 79 dashes.
"""

import re
from dataclasses import dataclass
from datetime import datetime
from email import message_from_bytes
from email.message import EmailMessage
from email.policy import default as default_policy
from pathlib import Path

from django.conf import settings
from django.utils import timezone

FILE_BACKEND = "django.core.mail.backends.filebased.EmailBackend"
SEPARATOR = b"\n" + b"-" * 79 + b"\n"
FILE_NAME = re.compile(r"^[\w.-]+\.log$")
RECENT = 50


@dataclass(frozen=True)
class StoredMail:
    file: str
    index: int
    written_at: datetime
    message: EmailMessage

    @property
    def subject(self) -> str:
        return self.message.get("Subject", "")

    @property
    def to(self) -> str:
        return self.message.get("To", "")

    @property
    def text(self) -> str:
        body = self.message.get_body(preferencelist=("plain",))
        return body.get_content() if body else ""

    @property
    def html(self) -> str:
        body = self.message.get_body(preferencelist=("html",))
        return body.get_content() if body else ""


def mail_directory() -> Path | None:
    """Where mail is written, or None when EMAIL_URL sends it elsewhere (SMTP, console, memory)."""
    if settings.EMAIL_BACKEND != FILE_BACKEND or not settings.EMAIL_FILE_PATH:
        return None
    return Path(settings.EMAIL_FILE_PATH)


def recent_mails(*, limit: int = RECENT) -> list[StoredMail]:
    """The newest mails first."""
    directory = mail_directory()
    if directory is None or not directory.is_dir():
        return []
    files = sorted((path for path in directory.iterdir() if FILE_NAME.match(path.name)), key=lambda path: path.stat().st_mtime, reverse=True)
    mails: list[StoredMail] = []
    for path in files:
        mails.extend(reversed(_read(path)))
        if len(mails) >= limit:
            break
    return mails[:limit]


def stored_mail(*, file: str, index: int) -> StoredMail | None:
    directory = mail_directory()
    if directory is None or not FILE_NAME.match(file) or not (directory / file).is_file():
        return None
    mails = _read(directory / file)
    return mails[index] if 0 <= index < len(mails) else None


def _read(path: Path) -> list[StoredMail]:
    written_at = datetime.fromtimestamp(path.stat().st_mtime, tz=timezone.get_current_timezone())
    chunks = [chunk for chunk in path.read_bytes().split(SEPARATOR) if chunk.strip()]
    return [StoredMail(path.name, index, written_at, message_from_bytes(chunk, policy=default_policy)) for index, chunk in enumerate(chunks)]
