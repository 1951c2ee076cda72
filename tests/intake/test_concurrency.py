"""Two runs of the mailbox read at the same time (beat fired twice, two workers): each message once."""

import threading

import pytest
from django.db import connection

from intake.mailbox import mailbox_read
from intake.models import InboundMessage
from repairs.models import RepairCall
from tests.conftest import is_postgres
from tests.factories import CustomerFactory, SiteFactory

from .conftest import email_message


@pytest.mark.skipif(not is_postgres(), reason="concurrent transactions need PostgreSQL")
@pytest.mark.django_db(transaction=True)
def test_two_runs_at_once_handle_every_message_exactly_once(mailbox, unit):
    customer = CustomerFactory(unit=unit, email="customer@example.com")
    SiteFactory(customer=customer)
    for n in range(30):
        mailbox.append(email_message(subject=f"call {n}"))
    mailbox.append(email_message(sender="nobody@example.net", subject="who"))
    start = threading.Barrier(2)
    runs, errors = [], []

    def run():
        try:
            start.wait(timeout=10)
            runs.append(mailbox_read())
        except Exception as exc:
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)

    assert not errors, errors
    assert RepairCall.objects.count() == 30
    assert InboundMessage.objects.count() == 31
    assert sum(r.handled for r in runs) == 31  # each written by one run; the other found it done
    assert sum(r.fetched for r in runs) == sum(r.handled + r.already for r in runs)
    assert mailbox.done_count() == 31
    numbers = list(RepairCall.objects.values_list("number", flat=True))
    assert len(set(numbers)) == 30
