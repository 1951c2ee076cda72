"""Two technicians' phones (or one double-tap) using the last part at the same moment: one wins, stock stays ≥ 0."""

import threading
from decimal import Decimal

import pytest
from django.db import connection

from parts import services
from parts.models import Part, Stock, StockMovement
from servicedesk.exceptions import ApplicationError
from tests.conftest import is_postgres


def _run_together(*jobs):
    """Each job in its own thread (own database connection), released at the same moment."""
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
    assert not any(thread.is_alive() for thread in threads), "a use hung (deadlock?)"
    return results


@pytest.mark.postgres
@pytest.mark.skipif(not is_postgres(), reason="row locks need PostgreSQL")
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
@pytest.mark.parametrize("attempt", range(3))
def test_two_uses_of_the_last_part_at_once_exactly_one_wins(dispatcher, technician, unit, attempt):
    part = Part.objects.create(part_number="MB-100", name="Main board", unit_price=Decimal("300.00"))
    services.part_stock_receive(user=dispatcher, unit_id=unit.pk, part_id=part.pk, quantity=1)
    services.part_issue_to_technician(user=dispatcher, technician_id=technician.pk, part_id=part.pk, quantity=1)

    def use(ref):
        return lambda: services.part_use(
            user=technician,
            technician_id=technician.pk,
            lines=[services.UseLine(part_id=part.pk, quantity=1)],
            reference_kind="voucher",
            reference_id=ref,
        )

    results = _run_together(use(1), use(2))

    winners = [r for r in results if isinstance(r, list)]
    losers = [r for r in results if isinstance(r, ApplicationError)]
    assert len(winners) == 1 and len(losers) == 1, results
    assert losers[0].message == "You do not hold 1 of part MB-100: your van has 0."
    assert Stock.objects.get(part=part, technician=technician).quantity == 0
    assert StockMovement.objects.filter(part=part, kind="used").count() == 1


@pytest.mark.postgres
@pytest.mark.skipif(not is_postgres(), reason="row locks need PostgreSQL")
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_opposite_movements_of_two_parts_do_not_deadlock(dispatcher, supervisor, technician, unit):
    """Issue and take back touch the store and van rows of two parts in opposite orders: locks in id order."""
    a = Part.objects.create(part_number="A-1", name="A", unit_price=Decimal("1.00"))
    b = Part.objects.create(part_number="B-1", name="B", unit_price=Decimal("1.00"))
    for p in (a, b):
        services.part_stock_receive(user=dispatcher, unit_id=unit.pk, part_id=p.pk, quantity=50)
        services.part_issue_to_technician(user=dispatcher, technician_id=technician.pk, part_id=p.pk, quantity=25)

    def lines(first, second):
        return lambda: [
            services.part_use(
                user=technician,
                technician_id=technician.pk,
                lines=[services.UseLine(first.pk, 1), services.UseLine(second.pk, 1)],
                reference_kind="repair_card",
                reference_id=i,
            )
            for i in range(10)
        ]

    results = _run_together(lines(a, b), lines(b, a))
    assert all(isinstance(r, list) for r in results), results
    assert Stock.objects.get(part=a, technician=technician).quantity == 5
    assert Stock.objects.get(part=b, technician=technician).quantity == 5


@pytest.mark.postgres
@pytest.mark.skipif(not is_postgres(), reason="row locks need PostgreSQL")
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_the_first_receipt_of_a_part_from_two_clerks_at_once_adds_both(dispatcher, supervisor, unit):
    """The store row does not exist yet: both insert it (ON CONFLICT DO NOTHING), then both add under the lock."""
    part = Part.objects.create(part_number="NEW-1", name="New", unit_price=Decimal("1.00"))
    results = _run_together(
        lambda: services.part_stock_receive(user=dispatcher, unit_id=unit.pk, part_id=part.pk, quantity=3),
        lambda: services.part_stock_receive(user=supervisor, unit_id=unit.pk, part_id=part.pk, quantity=4),
    )
    assert all(isinstance(r, StockMovement) for r in results), results
    assert Stock.objects.get(part=part, technician__isnull=True).quantity == 7
