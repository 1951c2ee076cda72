"""Text messages: one interface, a backend chosen by settings, the limits of a Chinese SMS.

Nothing sends an SMS directly: a service writes an outbox row (``Notification`` with channel ``sms``) in its
own transaction and the delivery sweep calls ``sms_send`` for it, once, retrying with backoff when the gateway
fails (``servicedesk.notifications``). Every backend takes the row's ``message_id``: a gateway that is sent
the same id twice (a retry after a lost answer) can drop the second.

Backends, by ``SERVICEDESK_SMS_BACKEND``:

- ``console``: prints the message (development).
- ``memory``: keeps it in ``servicedesk.sms.outbox`` (tests, like Django's ``mail.outbox``).
- ``file``: appends it as one JSON line to ``SERVICEDESK_SMS_FILE_PATH`` (an outbox a person or a test reads).
- ``http``: posts it to the gateway at ``SERVICEDESK_SMS_GATEWAY_URL`` (``HttpGatewayBackend``).
- or the dotted path of a class with ``send(message)``.

Limits: a message is sent in UCS-2, 70 characters in one part, 67 in each part of a long one; the
company's signature (``SERVICEDESK_SMS_SIGN``, e.g. 【某某售后】), which Chinese gateways require, counts. A
message longer than ``SERVICEDESK_SMS_MAX_PARTS`` parts, or with a character UCS-2 cannot carry (emoji and
other characters beyond the Basic Multilingual Plane) or a control character, is refused before it is
queued (``sms_check_text``), so the person who wrote it is told, not the sweep.
"""

import json
import logging
import re
import sys
import threading
import unicodedata
import urllib.error
import urllib.request
from dataclasses import asdict, dataclass

from django.conf import settings
from django.utils import timezone
from django.utils.module_loading import import_string
from django.utils.translation import gettext as _

from .exceptions import ApplicationError

log = logging.getLogger(__name__)

SINGLE_PART = 70  # UCS-2 characters in a message of one part
PART = 67  # in each part of a long (concatenated) message: 3 go to the part header

# Mainland mobile numbers, with or without +86 / 0086 and spaces or dashes between the digits.
_MOBILE = re.compile(r"^(?:\+?86|0086)?(1[3-9]\d{9})$")


class SmsError(Exception):
    """The gateway did not take the message; the sweep retries it later."""


@dataclass(frozen=True)
class SmsMessage:
    to: str
    text: str
    message_id: str


def sms_phone(value: str) -> str:
    """The 11-digit mobile number in ``value``, or ApplicationError: an SMS goes only to a mobile."""
    digits = re.sub(r"[\s\-()]", "", value or "")
    match = _MOBILE.match(digits)
    if not match:
        raise ApplicationError(_("%(phone)s is not a mobile number an SMS can be sent to.") % {"phone": value})
    return match.group(1)


def sms_parts(text: str) -> int:
    """How many parts the text (signature included) is sent in."""
    length = len(_signed(text))
    return 1 if length <= SINGLE_PART else -(-length // PART)


def sms_check_text(text: str) -> str:
    """The text, whitespace tidied, or ApplicationError saying why it cannot go as an SMS."""
    text = re.sub(r"[ \t]+", " ", (text or "").strip())
    if not text:
        raise ApplicationError(_("An SMS cannot be empty."))
    for char in text:
        if ord(char) > 0xFFFF:
            raise ApplicationError(
                _("An SMS cannot carry the character “%(char)s” (emoji and the like).") % {"char": char}
            )
        if unicodedata.category(char) == "Cc" and char != "\n":
            raise ApplicationError(_("An SMS cannot carry control characters."))
    limit = settings.SERVICEDESK_SMS_MAX_PARTS
    if sms_parts(text) > limit:
        raise ApplicationError(
            _("The SMS is %(length)d characters; at most %(max)d fit in %(parts)d parts.")
            % {"length": len(_signed(text)), "max": PART * limit, "parts": limit}
        )
    return text


def _signed(text: str) -> str:
    sign = settings.SERVICEDESK_SMS_SIGN
    return f"{sign}{text}" if sign and not text.startswith(sign) else text


# --- backends ------------------------------------------------------------------------------------------

outbox: list[SmsMessage] = []  # the memory backend's messages, in the order sent
_outbox_lock = threading.Lock()


class ConsoleBackend:
    def send(self, message: SmsMessage) -> None:
        sys.stdout.write(f"SMS to {message.to} [{message.message_id}]: {message.text}\n")
        sys.stdout.flush()


class MemoryBackend:
    def send(self, message: SmsMessage) -> None:
        with _outbox_lock:
            outbox.append(message)


class FileBackend:
    """One JSON line per message in ``SERVICEDESK_SMS_FILE_PATH``; a line is written whole or not at all."""

    def send(self, message: SmsMessage) -> None:
        line = json.dumps({**asdict(message), "at": timezone.now().isoformat()}, ensure_ascii=False) + "\n"
        with _outbox_lock, open(settings.SERVICEDESK_SMS_FILE_PATH, "a", encoding="utf-8") as out:
            out.write(line)


class HttpGatewayBackend:
    """A JSON POST to the gateway: {"to", "text", "sign", "id"}; any 2xx answer whose "code", if present, is 0.

    The key goes in a header (``Authorization: Bearer``), never in the URL or the body a log might keep.
    Most Chinese SMS gateways accept such a call through a small adapter of their own; one that does not is
    a class of its own named in ``SERVICEDESK_SMS_BACKEND``.
    """

    def send(self, message: SmsMessage) -> None:
        url = settings.SERVICEDESK_SMS_GATEWAY_URL
        if not url.startswith(("https://", "http://")):
            raise SmsError("SERVICEDESK_SMS_GATEWAY_URL is not an http(s) address")
        body = json.dumps(
            {"to": message.to, "text": message.text, "sign": settings.SERVICEDESK_SMS_SIGN, "id": message.message_id},
            ensure_ascii=False,
        ).encode()
        request = urllib.request.Request(  # noqa: S310 (the scheme is checked above)
            url,
            data=body,
            method="POST",
            headers={
                "Content-Type": "application/json; charset=utf-8",
                "Authorization": f"Bearer {settings.SERVICEDESK_SMS_GATEWAY_KEY}",
            },
        )
        try:
            with urllib.request.urlopen(request, timeout=settings.SERVICEDESK_SMS_GATEWAY_TIMEOUT) as response:  # noqa: S310
                text = response.read(64 * 1024).decode("utf-8", "replace")
        except urllib.error.HTTPError as exc:
            raise SmsError(f"gateway answered {exc.code}: {exc.read(200).decode('utf-8', 'replace')}") from exc
        except (urllib.error.URLError, OSError) as exc:
            raise SmsError(f"gateway unreachable: {exc}") from exc
        try:
            answer = json.loads(text) if text.strip() else {}
        except ValueError:
            answer = {}
        if isinstance(answer, dict) and answer.get("code", 0) not in (0, "0"):
            raise SmsError(f"gateway refused the message: {json.dumps(answer, ensure_ascii=False)[:200]}")


BACKENDS = {"console": ConsoleBackend, "memory": MemoryBackend, "file": FileBackend, "http": HttpGatewayBackend}


def sms_backend():
    name = settings.SERVICEDESK_SMS_BACKEND
    return (BACKENDS.get(name) or import_string(name))()


def sms_send(*, to: str, text: str, message_id: str) -> None:
    """Send one message now (the outbox sweep calls this; a service writes an outbox row instead)."""
    sms_backend().send(SmsMessage(to=sms_phone(to), text=_signed(sms_check_text(text)), message_id=message_id))
