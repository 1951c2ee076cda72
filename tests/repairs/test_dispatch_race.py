"""Two dispatchers assigning the same call at the same moment: one wins, the other is told."""

import threading

import pytest
from django.db import connection
from django.urls import reverse

from repairs import services
from repairs.models import RepairCall
from servicedesk.exceptions import ApplicationError
from servicedesk.workflow import history_for
from tests.conftest import is_postgres
from tests.factories import log_call


def _run_together(*jobs):
    """Run each job in its own thread (own database connection), released at the same moment."""
    barrier = threading.Barrier(len(jobs))
    results = [None] * len(jobs)

    def runner(i, job):
        try:
            barrier.wait(timeout=10)
            results[i] = job()
        except Exception as exc:  # the outcome under test
            results[i] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=runner, args=(i, job)) for i, job in enumerate(jobs)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert not any(thread.is_alive() for thread in threads), "a dispatch hung"
    return results


@pytest.mark.postgres
@pytest.mark.skipif(not is_postgres(), reason="row locks need PostgreSQL")
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
@pytest.mark.parametrize("attempt", range(2))
def test_two_dispatchers_with_the_same_version_exactly_one_wins(
    dispatcher, supervisor, technician, technician_b, attempt
):
    call = log_call(dispatcher=dispatcher)

    def assign(user, tech):
        return lambda: services.repair_call_dispatch(user=user, call_id=call.pk, technician=tech, expected_version=1)

    results = _run_together(assign(dispatcher, technician), assign(supervisor, technician_b))

    winners = [r for r in results if isinstance(r, RepairCall)]
    losers = [r for r in results if isinstance(r, ApplicationError)]
    assert len(winners) == 1 and len(losers) == 1, results
    assert "changed by someone else" in losers[0].message
    call.refresh_from_db()
    assert call.status == RepairCall.Status.DISPATCHED
    assert call.version == 2
    assert call.technician_id == winners[0].technician_id
    assert [c.to_status for c in history_for(call)] == [RepairCall.Status.LOGGED, RepairCall.Status.DISPATCHED]


def test_two_posts_with_the_same_version_the_second_is_told(client, dispatcher, supervisor, technician, technician_b):
    call = log_call(dispatcher=dispatcher)
    url = reverse("repairs:call_action", args=[call.pk, "dispatch"])

    client.force_login(dispatcher)
    first = client.post(url, {"version": 1, "technician": technician.pk})
    assert first.status_code == 302

    client.force_login(supervisor)
    second = client.post(url, {"version": 1, "technician": technician_b.pk, "reason": "Nearer"})
    assert second.status_code == 400
    assert "was changed by someone else a moment ago" in second.text
    call.refresh_from_db()
    assert call.technician == technician
    assert call.version == 2
    assert history_for(call).count() == 2
