"""The inbound e-mail tests run against a real IMAP server: dovecot on loopback, started by .ci/run
(``scripts/imap-test-server``). Each test gets a folder of its own on it, so tests (and runs) never meet."""

import datetime as dt
import os
import socket
import uuid
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid

import pytest
from imap_tools import MailBoxUnencrypted

from intake.mailbox import DONE_FLAG

IMAP = {
    "HOST": os.environ.get("SERVICEDESK_TEST_IMAP_HOST", "127.0.0.1"),
    "PORT": int(os.environ.get("SERVICEDESK_TEST_IMAP_PORT", "10143")),
    "USER": os.environ.get("SERVICEDESK_TEST_IMAP_USER", "intake"),
    "PASSWORD": os.environ.get("SERVICEDESK_TEST_IMAP_PASSWORD", "intake-test"),
    "TLS": "none",  # loopback only
    "UNIT": "",
    "TIMEOUT": 10,
}


def imap_server_answers() -> bool:
    try:
        with socket.create_connection((IMAP["HOST"], IMAP["PORT"]), timeout=2) as conn:
            return conn.recv(4).startswith(b"* OK")
    except OSError:
        return False


class TestMailbox:
    """A folder of its own on the test server, and the settings pointing the intake at it."""

    def __init__(self, folder: str):
        self.folder = folder
        self.config = {**IMAP, "FOLDER": folder}

    def _open(self):
        return MailBoxUnencrypted(IMAP["HOST"], IMAP["PORT"], timeout=10).login(IMAP["USER"], IMAP["PASSWORD"])

    def append(self, message, *, at: dt.datetime | None = None) -> None:
        raw = message if isinstance(message, bytes) else message.as_bytes()
        with self._open() as mailbox:
            mailbox.append(raw, self.folder, dt=at or dt.datetime.now(dt.UTC), flag_set=[])

    def flags(self) -> list[tuple[str, ...]]:
        """The flags of every message in the folder, in order."""
        with self._open() as mailbox:
            mailbox.folder.set(self.folder)
            return [m.flags for m in mailbox.fetch(headers_only=True, mark_seen=False)]

    def done_count(self) -> int:
        return sum(DONE_FLAG in f for f in self.flags())

    def count(self) -> int:
        with self._open() as mailbox:
            mailbox.folder.set(self.folder)
            return len(mailbox.uids())

    def clear_done(self) -> None:
        """Forget the marks (as if the run had died before marking): the next run fetches everything again."""
        with self._open() as mailbox:
            mailbox.folder.set(self.folder)
            uids = mailbox.uids()
            if uids:
                mailbox.flag(uids, (DONE_FLAG, r"\Seen"), False)


@pytest.fixture
def mailbox(settings, tmp_path):
    if not imap_server_answers():
        pytest.skip(
            f"needs the IMAP test server on {IMAP['HOST']}:{IMAP['PORT']} (scripts/imap-test-server; CI starts it)"
        )
    folder = f"test-{uuid.uuid4().hex[:12]}"
    box = TestMailbox(folder)
    with box._open() as mb:
        mb.folder.create(folder)
    settings.INTAKE_IMAP = box.config
    settings.MEDIA_ROOT = str(tmp_path / "media")
    yield box
    with box._open() as mb:
        mb.folder.delete(folder)


def email_message(
    *,
    sender="customer@example.com",
    name="Mr Wang",
    subject="The copier jams",
    body="Paper jams on tray 2 since this morning.",
    message_id: str | None = "",
    attachments=(),
    date: dt.datetime | None = None,
) -> EmailMessage:
    message = EmailMessage()
    message["From"] = f"{name} <{sender}>" if name else sender
    message["To"] = "service@example.com"
    message["Subject"] = subject
    message["Date"] = format_datetime(date or dt.datetime.now(dt.UTC))
    if message_id is not None:
        message["Message-ID"] = message_id or make_msgid(domain="example.com")
    message.set_content(body)
    for filename, content, maintype, subtype in attachments:
        message.add_attachment(content, maintype=maintype, subtype=subtype, filename=filename)
    return message
