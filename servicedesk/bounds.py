"""Every bound on what a user may type comes from here (issue 12: "every bound comes from one place").

- Numbers: a form field takes its limits from the model field it fills (``decimal_limits``), so a value the
  form accepts always fits the column (a NUMERIC(10, 2) holds less than 10**8).
- Dates: every date and datetime a person enters lies in ``DATE_MIN``..``DATE_MAX``, checked on the value as
  typed (local wall-clock time), before any time-zone conversion: 0001-01-01 00:00 in Asia/Shanghai is a
  BC timestamp in UTC, and 9999-12-31 overflows the first ``+ timedelta``.

These are technical bounds of the columns and of date arithmetic, not business numbers (those are rows an
administrator edits).
"""

import calendar
import datetime as dt
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

from .exceptions import ApplicationError

DATE_MIN = dt.date(1900, 1, 1)
DATE_MAX = dt.date(2999, 12, 31)


def decimal_limits(model_field) -> dict:
    """The keyword arguments a ``forms.DecimalField`` needs to accept only what ``model_field`` stores.

    ``max_value``/``min_value`` are the largest magnitude the column holds at its scale
    (``max_digits - decimal_places`` integer digits), further narrowed by the model field's own
    Min/MaxValueValidators, which Django's form field copies anyway.
    """
    digits, places = model_field.max_digits, model_field.decimal_places
    largest = Decimal(10) ** (digits - places) - Decimal(1).scaleb(-places)
    return {"max_digits": digits, "decimal_places": places, "max_value": largest, "min_value": -largest}


def date_in_range(value) -> None:
    """Validator for a date, or a datetime as typed (before it is made aware)."""
    if value is None:
        return
    day = value.date() if isinstance(value, dt.datetime) else value
    if not (DATE_MIN <= day <= DATE_MAX):
        raise ValidationError(_out_of_range_message(), code="date_out_of_range")


# A PositiveIntegerField / IntegerField column (PostgreSQL ``integer``) holds at most this.
INTEGER_MAX = 2**31 - 1


def column_max(model_field) -> Decimal:
    """The largest value a DecimalField column holds (its smallest is the negative of it)."""
    return decimal_limits(model_field)["max_value"]


def fits(model_field, value) -> bool:
    """Whether a computed Decimal (a total, a product) can be stored in ``model_field``'s column."""
    if value is None:
        return True
    value = Decimal(value)
    if not value.is_finite():
        return False
    return abs(value.quantize(Decimal(1).scaleb(-model_field.decimal_places))) <= column_max(model_field)


def require_fits(model_field, value, *, field: str | None = None) -> None:
    """Refuse (as a business refusal, shown on the form) a computed amount its column cannot hold.

    A form bounds what is typed; a product or a sum of what is typed (quantity × price, labour + parts) is
    checked here, in the service that stores it, before the row is written.
    """
    if not fits(model_field, value):
        raise ApplicationError(
            _("The %(what)s comes to more than can be recorded (at most %(max)s).")
            % {"what": model_field.verbose_name, "max": f"{column_max(model_field):,}"},
            field=field,
        )


def _out_of_range_message() -> str:
    return _("Enter a date between %(min)s and %(max)s.") % {"min": DATE_MIN.isoformat(), "max": DATE_MAX.isoformat()}


def parse_date_text(text: str) -> dt.date:
    """A date typed as YYYY-MM-DD, within DATE_MIN..DATE_MAX; ValidationError (with a message) otherwise."""
    try:
        day = dt.date.fromisoformat(str(text).strip())
    except ValueError:
        raise ValidationError(_("Enter a date as YYYY-MM-DD."), code="invalid") from None
    date_in_range(day)
    return day


def parse_month_text(text: str) -> dt.date:
    """A month typed as YYYY-MM, as its first day, within DATE_MIN..DATE_MAX."""
    text = str(text).strip()
    try:
        if len(text) != 7 or text[4] != "-":
            raise ValueError(text)
        month = dt.date(int(text[:4]), int(text[5:]), 1)
    except ValueError:
        raise ValidationError(_("Enter a month as YYYY-MM."), code="invalid") from None
    date_in_range(month)
    return month


def _parse_param(params, name: str, parse, default):
    from django.core.exceptions import BadRequest

    value = params.get(name)
    if value in (None, ""):
        return default
    try:
        return parse(value)
    except ValidationError as exc:
        raise BadRequest(f"{name}: {exc.messages[0]}") from None


def parse_day(params, name: str, *, default=None) -> dt.date | None:
    """A ``?name=YYYY-MM-DD`` query-string parameter; out of range or malformed is a 400 with the reason."""
    return _parse_param(params, name, parse_date_text, default)


def parse_month(params, name: str, *, default=None) -> dt.date | None:
    """A ``?name=YYYY-MM`` query-string parameter as the month's first day; bad input is a 400."""
    return _parse_param(params, name, parse_month_text, default)


def add_months(day: dt.date, months: int) -> dt.date:
    """``day`` moved by whole months (the day clamped to the month's length).

    Inside DATE_MIN..DATE_MAX the result always exists (2999-12 + 1 month is 3000-01, still a Python date);
    far outside it a refusal is raised rather than an OverflowError.
    """
    index = day.year * 12 + (day.month - 1) + months
    year, month = divmod(index, 12)
    if not (dt.MINYEAR <= year <= dt.MAXYEAR):
        raise ValidationError(_out_of_range_message(), code="date_out_of_range")
    return dt.date(year, month + 1, min(day.day, calendar.monthrange(year, month + 1)[1]))
