"""An e-mail as bytes → what the desk needs of it, or why it cannot be read (pure: no database, no network)."""

import email.errors
import hashlib
import re
from dataclasses import dataclass, field
from email.utils import getaddresses

from django.core.validators import validate_email
from django.utils.html import strip_tags
from imap_tools import MailMessage

# Defects that leave the structure of a message in doubt (its parts cannot be told apart): such a message
# waits in quarantine rather than becoming a call with half its text. Milder defects (a stray character in a
# header, bad base64 padding) are read as well as they can be.
STRUCTURAL_DEFECTS = (
    email.errors.NoBoundaryInMultipartDefect,
    email.errors.StartBoundaryNotFoundDefect,
    email.errors.CloseBoundaryNotFoundDefect,
    email.errors.MultipartInvariantViolationDefect,
    email.errors.MissingHeaderBodySeparatorDefect,
    email.errors.FirstHeaderLineIsContinuationDefect,
)
MAX_BODY_CHARS = 20000
MAX_ATTACHMENTS = 20
# A call (RC-2026-000042) or a complaint case (KS-2026-000007) named in the subject.
NUMBER_RE = re.compile(r"\b(RC|KS)-(\d{4})-(\d{6})\b")


class Unreadable(Exception):
    def __init__(self, reason: str, detail: str = ""):
        super().__init__(detail or reason)
        self.reason = reason
        self.detail = detail


@dataclass(frozen=True)
class Attachment:
    name: str
    content_type: str
    payload: bytes


@dataclass(frozen=True)
class Parsed:
    dedupe_key: str
    message_id: str
    from_address: str
    from_name: str
    subject: str
    body: str
    attachments: list[Attachment] = field(default_factory=list)

    @property
    def number(self) -> tuple[str, str] | None:
        """("RC" or "KS", the number) named in the subject, if any."""
        found = NUMBER_RE.search(self.subject)
        return (found.group(1), found.group(0)) if found else None


def _header_block(raw: bytes) -> bytes:
    end = raw.find(b"\r\n\r\n")
    if end < 0:
        end = raw.find(b"\n\n")
    return raw if end < 0 else raw[:end]


def _message_id(raw_header: str) -> str:
    value = " ".join((raw_header or "").split())
    found = re.search(r"<[^<>\s]+>", value)
    return found.group(0) if found else value


def dedupe_key(*, message_id: str, raw: bytes, size: int) -> str:
    """The key that makes a message handled once: its Message-ID, or — a message without one — a hash of its
    header block and size (the same message fetched again has the same header and size)."""
    if message_id and len(message_id) <= 190:
        return f"mid:{message_id}"
    if message_id:
        return "mid-sha256:" + hashlib.sha256(message_id.encode("utf-8", "replace")).hexdigest()
    return "hdr-sha256:" + hashlib.sha256(_header_block(raw) + b"\0" + str(size).encode()).hexdigest()


def headers_of(raw: bytes) -> tuple[str, str, str, str]:
    """(Message-ID, sender address, sender name, subject) from a header block; best effort, never raises."""
    try:
        message = MailMessage.from_bytes(_header_block(raw) + b"\r\n\r\n")
        values = message.from_values
        return (
            _message_id(message.headers.get("message-id", ("",))[0]),
            (values.email if values else "")[:254],
            (values.name if values else "")[:200],
            message.subject[:300],
        )
    except Exception:
        return "", "", "", ""


def parse(raw: bytes, *, size: int) -> Parsed:
    """Read a whole message; ``Unreadable`` says why it cannot become a call or a reply."""
    try:
        message = MailMessage.from_bytes(raw)
        defects = [d for part in message.obj.walk() for d in part.defects if isinstance(d, STRUCTURAL_DEFECTS)]
        if defects:
            raise Unreadable("malformed", ", ".join(sorted({type(d).__name__ for d in defects})))
        message_id = _message_id(message.headers.get("message-id", ("",))[0])
        senders = [address for _name, address in getaddresses(message.headers.get("from", ())) if address]
        values = message.from_values
        address = (values.email if values else "").strip()
        if len(senders) != 1 or not address or len(address) > 254:
            raise Unreadable("no_sender", ", ".join(message.headers.get("from", ()))[:300])
        try:
            validate_email(address)
        except Exception:
            raise Unreadable("no_sender", address[:300]) from None
        text = message.text or strip_tags(message.html or "")
        attachments = [
            Attachment(name=a.filename or "", content_type=a.content_type or "", payload=a.payload or b"")
            for a in message.attachments
        ]
    except Unreadable:
        raise
    except Exception as exc:
        raise Unreadable("malformed", f"{type(exc).__name__}: {exc}"[:500]) from None
    if len(attachments) > MAX_ATTACHMENTS:
        raise Unreadable("malformed", f"{len(attachments)} attachments (at most {MAX_ATTACHMENTS})")
    return Parsed(
        dedupe_key=dedupe_key(message_id=message_id, raw=raw, size=size),
        message_id=message_id[:300],
        from_address=address.lower(),
        from_name=(values.name or "")[:200],
        subject=" ".join(message.subject.split())[:300],
        body=text.replace("\r\n", "\n").strip()[:MAX_BODY_CHARS],
        attachments=attachments,
    )
