"""Helpers the contract services share."""

import datetime as dt

from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from servicedesk.exceptions import ApplicationError
from servicedesk.models import NumberSequence
from servicedesk.scoping import user_may_act_in_unit

from ..models import ContractTerm, ContractType
from ..windows import notice_date


def require(user, perm: str, *, unit_id: int) -> None:
    if not user.has_perm(perm):
        raise ApplicationError(_("You are not allowed to do this."))
    if not user_may_act_in_unit(user=user, unit_id=unit_id):
        raise ApplicationError(_("This record belongs to another unit."))


def allocate_numbers(*, series: str, count: int, at: dt.datetime | None = None) -> list[str]:
    """``count`` consecutive numbers of a series in one statement (servicedesk.numbering hands out one at a time).

    Same counter rows as ``next_number``: the row stays locked until the caller commits.
    """
    if count <= 0:
        return []
    year = timezone.localtime(at or timezone.now()).year
    with transaction.atomic():
        updated = NumberSequence.objects.filter(series=series, year=year).update(last_value=F("last_value") + count)
        if not updated:
            try:
                with transaction.atomic():
                    NumberSequence.objects.create(series=series, year=year, last_value=count)
            except IntegrityError:  # created by a concurrent caller a moment ago
                NumberSequence.objects.filter(series=series, year=year).update(last_value=F("last_value") + count)
        last = NumberSequence.objects.get(series=series, year=year).last_value
    return [f"{series}-{year}-{value:06d}" for value in range(last - count + 1, last + 1)]


def term_notice_on(*, end_on: dt.date, contract_type: ContractType) -> dt.date:
    return notice_date(end_on=end_on, months=contract_type.notice_months, days=contract_type.notice_days)


def check_term_dates(*, start_on: dt.date, end_on: dt.date, fee) -> None:
    if end_on < start_on:
        raise ApplicationError(_("The term cannot end before it starts."), field="end_on")
    if fee is None or fee < 0:
        raise ApplicationError(_("The fee cannot be negative."), field="fee")


def initial_status(*, end_on: dt.date, today: dt.date) -> str:
    """A term entered after its end (an old contract typed in or imported) is already expired."""
    return ContractTerm.Status.EXPIRED if end_on < today else ContractTerm.Status.ACTIVE
