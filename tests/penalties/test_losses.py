"""The loss: provisional for a month while returned goods can be resold, then final, once."""

import datetime as dt
from decimal import Decimal

import pytest
from django.core import mail
from django.utils import timezone

from penalties import services
from penalties.models import CaseLoss, loss_amount
from penalties.services.losses import add_calendar_months
from penalties.tasks import close_resale_windows
from servicedesk.exceptions import ApplicationError
from servicedesk.models import Notification
from servicedesk.workflow import history_for

from .conftest import make_ruled_case


@pytest.fixture
def with_returns(unit, technician, gm_office):
    case = make_ruled_case(
        unit=unit, responsible_person=technician, returns=["3000.00"], allowances=["200.00"], costs=["50.00"]
    )
    return services.case_loss_open(case=case)


def test_the_loss_adds_returns_allowances_and_costs_and_stays_provisional_a_month(with_returns):
    loss = with_returns
    assert (loss.returned_goods, loss.allowances, loss.costs) == (
        Decimal("3000.00"),
        Decimal("200.00"),
        Decimal("50.00"),
    )
    assert loss.amount == Decimal("3250.00")
    assert loss.status == CaseLoss.Status.PROVISIONAL
    assert loss.window_ends_at == add_calendar_months(loss.window_starts_at, 1)


def test_a_calendar_month_ends_on_the_same_day_or_the_months_last():
    jan31 = timezone.make_aware(dt.datetime(2027, 1, 31, 10, 0))
    assert timezone.localtime(add_calendar_months(jan31, 1)).date() == dt.date(2027, 2, 28)
    mar15 = timezone.make_aware(dt.datetime(2027, 3, 15, 9, 30))
    assert timezone.localtime(add_calendar_months(mar15, 1)) == timezone.make_aware(dt.datetime(2027, 4, 15, 9, 30))


def test_resale_proceeds_in_the_window_reduce_the_loss(with_returns, gm_office):
    services.resale_proceeds_record(
        user=gm_office, loss_id=with_returns.pk, amount=Decimal("1200.00"), sold_on=timezone.localdate()
    )
    services.resale_proceeds_record(
        user=gm_office, loss_id=with_returns.pk, amount=Decimal("300.00"), sold_on=timezone.localdate()
    )
    loss = CaseLoss.objects.get(pk=with_returns.pk)
    assert loss.resale_proceeds == Decimal("1500.00")
    assert loss.amount == Decimal("1750.00")


def test_resale_recovers_at_most_the_returned_goods():
    assert loss_amount(
        returned_goods=Decimal("100"), allowances=Decimal("20"), costs=Decimal("5"), resale_proceeds=Decimal("500")
    ) == Decimal("25")


def test_closing_the_window_makes_the_loss_final_once_and_tells_the_gm_office(with_returns, gm_office, settings):
    after = with_returns.window_ends_at + dt.timedelta(minutes=1)
    assert services.case_losses_finalize_due(now=with_returns.window_ends_at - dt.timedelta(seconds=1)) == 0
    assert services.case_losses_finalize_due(now=after) == 1
    assert services.case_losses_finalize_due(now=after) == 0
    assert services.case_losses_finalize_due(now=after + dt.timedelta(days=3)) == 0
    loss = CaseLoss.objects.get(pk=with_returns.pk)
    assert loss.status == CaseLoss.Status.FINAL and loss.finalized_at == after
    assert [c.to_status for c in history_for(loss)] == ["final"]
    notices = Notification.objects.filter(dedupe_key__startswith=f"penalties:loss-final:{loss.pk}:")
    assert [n.recipient for n in notices] == [gm_office]
    assert loss.case.number in notices.get().subject


def test_the_periodic_job_is_idempotent(with_returns, gm_office, monkeypatch):
    later = with_returns.window_ends_at + dt.timedelta(hours=1)
    monkeypatch.setattr(timezone, "now", lambda: later)
    first, second = close_resale_windows(), close_resale_windows()
    assert first["finalized"] == 1 and second == {"opened": 0, "finalized": 0}
    assert Notification.objects.filter(dedupe_key__startswith="penalties:loss-final:").count() == 1
    assert len(mail.outbox) <= 1


def test_the_job_opens_the_loss_of_every_newly_ruled_case(unit, technician):
    make_ruled_case(unit=unit, responsible_person=technician, costs=["10"])
    make_ruled_case(unit=unit, responsible_person=technician, returns=["10"])
    assert services.case_losses_open_new() == 2
    assert services.case_losses_open_new() == 0
    assert sorted(CaseLoss.objects.values_list("status", flat=True)) == ["final", "provisional"]


def test_no_proceeds_after_the_window(with_returns, gm_office):
    services.case_losses_finalize_due(now=with_returns.window_ends_at)
    with pytest.raises(ApplicationError, match="closed"):
        services.resale_proceeds_record(
            user=gm_office, loss_id=with_returns.pk, amount=Decimal("1"), sold_on=timezone.localdate()
        )
    assert CaseLoss.objects.get(pk=with_returns.pk).resale_proceeds == Decimal("0.00")


def test_proceeds_are_refused_once_the_window_has_passed_even_before_the_job(with_returns, gm_office):
    with pytest.raises(ApplicationError, match="closed"):
        services.resale_proceeds_record(
            user=gm_office,
            loss_id=with_returns.pk,
            amount=Decimal("1"),
            sold_on=timezone.localdate(),
            now=with_returns.window_ends_at,
        )


def test_a_case_without_returned_goods_has_a_final_loss_at_once(ruled_case):
    loss = services.case_loss_open(case=ruled_case)
    assert loss.is_final and loss.amount == Decimal("1234.56")
