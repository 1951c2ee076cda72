from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from .models import NumberSequence


def _increment(*, series: str, year: int) -> int | None:
    """The counter moved on by one and read in the same statement (UPDATE … RETURNING), or None without its row."""
    table = connection.ops.quote_name(NumberSequence._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {table} SET last_value = last_value + 1 WHERE series = %s AND year = %s RETURNING last_value",  # noqa: S608 - the table's name from the model
            [series, year],
        )
        row = cursor.fetchone()
    return row[0] if row else None


def next_number(*, series: str, at=None) -> str:
    """The next number of a series for the year of ``at`` (local time), e.g. ``RC-2026-000042``.

    The counter row is locked (by the UPDATE) until the caller's transaction commits, so two
    concurrent callers never get the same number and a rolled-back one leaves no gap. One statement
    while the year's row exists; the year's first number creates it.
    """
    year = timezone.localtime(at or timezone.now()).year
    value = _increment(series=series, year=year)
    if value is None:
        try:
            with transaction.atomic():
                NumberSequence.objects.create(series=series, year=year, last_value=1)
            value = 1
        except IntegrityError:  # created by a concurrent caller a moment ago
            value = _increment(series=series, year=year)
    return f"{series}-{year}-{value:06d}"
