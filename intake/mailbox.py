"""The desk's mailbox over IMAP (imap-tools): fetch what is new, hand each message to the service, and mark it
on the server only after the service's transaction committed.

A message is "new" while it lacks the ``$ServicedeskDone`` keyword. The mark comes after the commit, so a run
that dies in between leaves a message that the next run fetches again and finds already handled (its
``dedupe_key``), and marks then: nothing is handled twice and nothing is lost. Messages stay on the server.
"""

import datetime as dt
import logging
import re
import ssl
from dataclasses import dataclass, field

from django.conf import settings
from imap_tools import AND, NOT, MailBox, MailBoxStartTls, MailBoxUnencrypted

from servicedesk.uploads import inbound_message_max_bytes

from .services import Fetched, inbound_message_receive

logger = logging.getLogger(__name__)

DONE_FLAG = "$ServicedeskDone"
BATCH = 100  # messages fetched per round trip
_META_RE = re.compile(rb"UID (\d+)|RFC822\.SIZE (\d+)|INTERNALDATE \"([^\"]+)\"")
_UID_RE = re.compile(rb"UID (\d+)")


@dataclass
class MailboxRun:
    fetched: int = 0
    handled: int = 0  # new rows written (calls, replies, queue, quarantine)
    already: int = 0  # handled before (fetched again)
    outcomes: dict = field(default_factory=dict)


def connect(config: dict | None = None):
    """A logged-in mailbox from the settings (``INTAKE_IMAP``), the folder selected."""
    config = config or settings.INTAKE_IMAP
    host, port, tls = config["HOST"], int(config["PORT"]), (config.get("TLS") or "ssl").lower()
    timeout = int(config.get("TIMEOUT") or 30)
    if tls == "none":
        mailbox = MailBoxUnencrypted(host, port, timeout=timeout)
    elif tls == "starttls":
        mailbox = MailBoxStartTls(host, port, timeout=timeout, ssl_context=ssl.create_default_context())
    else:
        mailbox = MailBox(host, port, timeout=timeout, ssl_context=ssl.create_default_context())
    return mailbox.login(config["USER"], config["PASSWORD"], initial_folder=config.get("FOLDER") or "INBOX")


def _chunks(items: list, size: int):
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _internaldate(value: bytes) -> dt.datetime:
    return dt.datetime.strptime(value.decode("ascii"), "%d-%b-%Y %H:%M:%S %z")


def _meta(mailbox, uids: list[str]) -> dict[str, tuple[int, dt.datetime]]:
    _status, data = mailbox.client.uid("FETCH", ",".join(uids), "(UID RFC822.SIZE INTERNALDATE)")
    meta = {}
    for item in data:
        line = item[0] if isinstance(item, tuple) else item
        if not line:
            continue
        found = {"uid": None, "size": None, "date": None}
        for uid, size, date in _META_RE.findall(line):
            found["uid"] = uid or found["uid"]
            found["size"] = size or found["size"]
            found["date"] = date or found["date"]
        if found["uid"] and found["size"] and found["date"]:
            meta[found["uid"].decode()] = (int(found["size"]), _internaldate(found["date"]))
    return meta


def _bodies(mailbox, uids: list[str], *, part: str) -> dict[str, bytes]:
    if not uids:
        return {}
    _status, data = mailbox.client.uid("FETCH", ",".join(uids), f"(UID BODY.PEEK[{part}])")
    bodies = {}
    for item in data:
        if isinstance(item, tuple) and len(item) == 2:
            found = _UID_RE.search(item[0])
            if found:
                bodies[found.group(1).decode()] = item[1]
    return bodies


def mailbox_read(*, config: dict | None = None, limit: int | None = None) -> MailboxRun:
    """Read every new message of the configured folder once. Safe to run twice, late, or at the same time."""
    config = config or settings.INTAKE_IMAP
    run = MailboxRun()
    if not config.get("HOST"):
        return run
    folder = config.get("FOLDER") or "INBOX"
    with connect(config) as mailbox:
        uids = list(mailbox.uids(AND(NOT(keyword=DONE_FLAG))))
        if limit is not None:
            uids = uids[:limit]
        max_bytes = inbound_message_max_bytes()
        for chunk in _chunks(uids, BATCH):
            meta = _meta(mailbox, chunk)
            small = [uid for uid in chunk if uid in meta and meta[uid][0] <= max_bytes]
            large = [uid for uid in chunk if uid in meta and meta[uid][0] > max_bytes]
            bodies = {**_bodies(mailbox, small, part=""), **_bodies(mailbox, large, part="HEADER")}
            done = []
            try:
                _receive_chunk(chunk=chunk, meta=meta, bodies=bodies, folder=folder, run=run, done=done)
            finally:
                if done:
                    # After the commits: a message is marked only once its row is in the database.
                    mailbox.flag(done, (DONE_FLAG, r"\Seen"), True)
    if run.handled:
        logger.info("inbound e-mail: %s", run)
    return run


def _receive_chunk(*, chunk, meta, bodies, folder, run: MailboxRun, done: list) -> None:
    for uid in chunk:
        if uid not in meta or uid not in bodies:
            continue  # expunged meanwhile by someone else
        size, received_at = meta[uid]
        fetched = Fetched(raw=bodies[uid], size=size, received_at=received_at, folder=folder, uid=int(uid))
        run.fetched += 1
        message = inbound_message_receive(fetched=fetched)  # commits before it returns
        if message is None:
            run.already += 1
        else:
            run.handled += 1
            run.outcomes[message.status] = run.outcomes.get(message.status, 0) + 1
        done.append(uid)
