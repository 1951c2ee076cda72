"""The intake's rules that need no mailbox: who may log a call without a person, what a message's key is."""

import pytest
from django.utils import timezone

from intake.parsing import Unreadable, dedupe_key, parse
from repairs.models import RepairCall
from repairs.services import repair_call_log
from servicedesk.exceptions import ApplicationError
from tests.factories import CustomerFactory, SiteFactory


@pytest.mark.django_db
def test_only_the_email_channel_logs_a_call_with_no_person_behind_it(unit):
    customer = CustomerFactory(unit=unit)
    site = SiteFactory(customer=customer)
    kwargs = dict(
        user=None,
        unit=unit,
        received_at=timezone.now(),
        contact_name="x",
        contact_phone=customer.phone,
        problem="x",
        customer=customer,
        site=site,
    )
    with pytest.raises(ApplicationError):
        repair_call_log(**kwargs, channel=RepairCall.Channel.PHONE)
    assert repair_call_log(**kwargs, channel=RepairCall.Channel.EMAIL).created_by is None


def test_the_key_is_the_message_id_or_a_hash_of_the_header_and_size():
    assert dedupe_key(message_id="<a@b>", raw=b"", size=1) == "mid:<a@b>"
    long_id = "<" + "x" * 300 + "@b>"
    assert dedupe_key(message_id=long_id, raw=b"", size=1).startswith("mid-sha256:")
    raw = b"From: a@b.example\r\nSubject: s\r\n\r\nbody"
    assert dedupe_key(message_id="", raw=raw, size=len(raw)) == dedupe_key(message_id="", raw=raw, size=len(raw))
    assert dedupe_key(message_id="", raw=raw, size=len(raw)) != dedupe_key(message_id="", raw=raw, size=len(raw) + 1)


def test_the_subject_names_a_call_or_a_case_by_its_number():
    def named(subject):
        return parse(f"From: a@b.example\r\nSubject: {subject}\r\n\r\nx".encode(), size=10).number

    assert named("Re: RC-2026-000042 still broken") == ("RC", "RC-2026-000042")
    assert named("[KS-2026-000007]") == ("KS", "KS-2026-000007")
    assert named("RC-2026-42") is None and named("copier") is None


def test_two_senders_in_from_is_no_sender():
    with pytest.raises(Unreadable) as caught:
        parse(b"From: a@b.example, c@d.example\r\nSubject: s\r\n\r\nx", size=10)
    assert caught.value.reason == "no_sender"
