"""Every bound on what a user may type comes from here (issue 12: "every bound comes from one place").

- Numbers: a form field takes its limits from the model field it fills (``decimal_limits``), so a value the
  form accepts always fits the column (a NUMERIC(10, 2) holds less than 10**8).
- Dates: every date and datetime a person enters lies in ``DATE_MIN``..``DATE_MAX``, checked on the value as
  typed (local wall-clock time), before any time-zone conversion: 0001-01-01 00:00 in Asia/Shanghai is a
  BC timestamp in UTC, and 9999-12-31 overflows the first ``+ timedelta``.

These are technical bounds of the columns and of date arithmetic, not business numbers (those are rows an
administrator edits).
"""

import datetime as dt
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

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
        raise ValidationError(
            _("Enter a date between %(min)s and %(max)s.") % {"min": DATE_MIN.isoformat(), "max": DATE_MAX.isoformat()},
            code="date_out_of_range",
        )
