"""The beat task run by a real Celery worker through the Redis broker, sent twice: each message once."""

import os

import pytest

from intake.models import InboundMessage
from intake.tasks import read_mailbox
from repairs.models import RepairCall
from tests.factories import CustomerFactory, SiteFactory
from tests.servicedesk.test_worker import _quiet, worker  # noqa: F401 - the worker fixture

from .conftest import email_message

pytestmark = [
    pytest.mark.worker,
    pytest.mark.redis,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
    pytest.mark.skipif(not os.environ.get("REDIS_URL"), reason="needs a Redis broker (set REDIS_URL); CI has one"),
]

READ = "intake.tasks.read_mailbox"


def test_the_mailbox_task_sent_twice_logs_each_message_once(mailbox, worker, unit):  # noqa: F811
    customer = CustomerFactory(unit=unit, email="customer@example.com")
    SiteFactory(customer=customer)
    for n in range(5):
        mailbox.append(email_message(subject=f"call {n}"))

    read_mailbox.delay()
    read_mailbox.delay()
    worker.wait_for(READ, 2)
    _quiet(worker)

    assert RepairCall.objects.filter(channel=RepairCall.Channel.EMAIL).count() == 5
    assert InboundMessage.objects.filter(status=InboundMessage.Status.CALL_LOGGED).count() == 5
    assert mailbox.done_count() == 5
