from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from .models import NumberSequence


def next_number(*, series: str, at=None) -> str:
    """The next number of a series for the year of ``at`` (local time), e.g. ``RC-2026-000042``.

    The counter row is locked until the caller's transaction commits, so two
    concurrent callers never get the same number and a rolled-back one leaves no gap.
    """
    year = timezone.localtime(at or timezone.now()).year
    with transaction.atomic():
        updated = NumberSequence.objects.filter(series=series, year=year).update(last_value=F("last_value") + 1)
        if not updated:
            try:
                with transaction.atomic():
                    NumberSequence.objects.create(series=series, year=year, last_value=1)
            except IntegrityError:  # created by a concurrent caller a moment ago
                NumberSequence.objects.filter(series=series, year=year).update(last_value=F("last_value") + 1)
        value = NumberSequence.objects.get(series=series, year=year).last_value
    return f"{series}-{year}-{value:06d}"
