"""servicedesk/bounds.py and its form fields: every bound on what a user types comes from one place (issue 12)."""

import datetime as dt
import importlib
from decimal import Decimal

import pytest
from django import forms
from django.apps import apps
from django.conf import settings
from django.core.exceptions import BadRequest, ValidationError
from django.http import QueryDict
from django.urls import reverse
from django.utils import timezone, translation

from repairs import services
from repairs.models import ServiceVoucher, VoucherPart
from servicedesk import bounds
from servicedesk.exceptions import ApplicationError
from servicedesk.forms import (
    DateField,
    DateTimeField,
    MonthField,
    SplitDateTimeField,
    bounded_decimal,
    bounded_formfield_callback,
    bounded_integer,
)
from servicedesk.roles import Role
from tests.factories import UserFactory

# The project's own apps (those under BASE_DIR), so a new app's forms are walked too.
PROJECT_APPS = tuple(
    c.name for c in apps.get_app_configs() if str(c.path).startswith(str(settings.BASE_DIR)) and "." not in c.name
)
FORM_MODULES = ("forms", "forms_field", "case_forms")


def _project_forms():
    for app in PROJECT_APPS:
        for name in FORM_MODULES:
            try:
                importlib.import_module(f"{app}.{name}")
            except ModuleNotFoundError:
                pass
    seen, todo = set(), [forms.BaseForm]
    while todo:
        cls = todo.pop()
        for sub in cls.__subclasses__():
            if sub not in seen:
                seen.add(sub)
                todo.append(sub)
    return sorted(
        (c for c in seen if c.__module__.split(".")[0] in PROJECT_APPS and not issubclass(c, forms.ModelForm)),
        key=lambda c: f"{c.__module__}.{c.__qualname__}",
    )


PROJECT_FORMS = _project_forms()


def test_the_walk_finds_the_projects_forms():
    names = {c.__name__ for c in PROJECT_FORMS}
    assert {"PartForm", "AdjustForm", "ReturnCheckForm", "ProceedsForm", "TermFieldsMixin", "LedgerForm"} <= names


@pytest.mark.parametrize("form_class", PROJECT_FORMS, ids=lambda c: f"{c.__module__}.{c.__name__}")
def test_every_form_field_takes_its_bounds_from_the_column_or_the_calendar(form_class):
    """A new form with a bare DecimalField, DateField or unbounded IntegerField fails here."""
    for name, field in form_class.base_fields.items():
        where = f"{form_class.__name__}.{name}"
        if isinstance(field, forms.DecimalField):
            assert getattr(field, "column", None) is not None, f"{where}: use bounded_decimal(Model, field)"
            assert field.max_value <= bounds.column_max(field.column), where
        elif isinstance(field, forms.DateTimeField):
            assert isinstance(field, DateTimeField), f"{where}: use servicedesk.forms.DateTimeField"
        elif isinstance(field, forms.DateField):
            assert isinstance(field, DateField), f"{where}: use servicedesk.forms.DateField"
        elif isinstance(field, forms.IntegerField):
            assert field.max_value is not None and field.max_value <= bounds.INTEGER_MAX, f"{where}: no max_value"


def test_a_bounded_decimal_holds_what_its_column_holds_and_only_narrows():
    field = bounded_decimal(VoucherPart, "unit_price", min_value=0, max_value=Decimal("1e20"))
    assert (field.max_digits, field.decimal_places) == (10, 2)
    assert field.max_value == Decimal("99999999.99") and field.min_value == 0
    assert field.clean("99999999.99") == Decimal("99999999.99")
    for value in ("100000000", "1e26", "NaN", "sNaN", "-Infinity", "1.001", "-0.01"):
        with pytest.raises(ValidationError):
            field.clean(value)
    assert field.clean("-0") == 0


def test_a_bounded_integer_stays_within_the_columns_range():
    field = bounded_integer(VoucherPart, "quantity", min_value=1)
    assert field.max_value == bounds.INTEGER_MAX
    assert field.clean(str(bounds.INTEGER_MAX)) == bounds.INTEGER_MAX
    with pytest.raises(ValidationError):
        field.clean(str(bounds.INTEGER_MAX + 1))


@pytest.mark.parametrize("typed", ["0001-01-01", "1899-12-31", "3000-01-01", "9999-12-31"])
def test_a_date_outside_1900_to_2999_is_refused_with_the_range(typed):
    with pytest.raises(ValidationError, match="1900-01-01"):
        DateField().clean(typed)


@pytest.mark.parametrize("typed", ["0001-01-01T00:00", "1899-12-31T23:59", "9999-12-31T23:59", "3000-01-01T00:00"])
def test_a_datetime_outside_the_range_is_refused_as_typed_before_any_time_zone_shift(typed):
    with pytest.raises(ValidationError, match="1900-01-01"):
        DateTimeField().clean(typed)


def test_the_edges_of_the_range_are_accepted_in_local_time():
    first = DateTimeField().clean("1900-01-01T00:00")
    last = DateTimeField().clean("2999-12-31T23:59")
    assert timezone.localtime(first).date() == dt.date(1900, 1, 1)
    assert timezone.localtime(last).date() == dt.date(2999, 12, 31)
    assert DateField().clean("2999-12-31") == bounds.DATE_MAX


def test_a_datetime_typed_with_an_offset_is_checked_on_the_date_typed():
    with pytest.raises(ValidationError):
        DateTimeField().clean("0001-01-01T00:00:00+08:00")


def test_the_admins_date_and_time_pair_is_bounded():
    with pytest.raises(ValidationError):
        SplitDateTimeField().clean(["0001-01-01", "00:00"])
    assert SplitDateTimeField().clean(["2999-12-31", "23:59"]).year == 2999


def test_the_admin_builds_bounded_date_fields():
    from django.contrib import admin

    from servicedesk.models import CalendarException

    model_admin = admin.site._registry.get(CalendarException) or admin.ModelAdmin(CalendarException, admin.site)
    field = model_admin.formfield_for_dbfield(CalendarException._meta.get_field("date"), request=None)
    with pytest.raises(ValidationError):
        field.clean("0001-01-01")


def test_a_model_form_with_the_callback_bounds_its_generated_fields():
    Form = forms.modelform_factory(
        ServiceVoucher, fields=["labour_charge", "arrived_at"], formfield_callback=bounded_formfield_callback
    )
    form = Form({"labour_charge": "1e26", "arrived_at": "0001-01-01 00:00"})
    assert not form.is_valid()
    assert set(form.errors) == {"labour_charge", "arrived_at"}


@pytest.mark.parametrize(
    ("typed", "month"), [("2026-02", dt.date(2026, 2, 1)), ("2999-12", dt.date(2999, 12, 1)), ("1900-01", None)]
)
def test_a_month_is_its_first_day(typed, month):
    assert MonthField().clean(typed) == (month or dt.date(1900, 1, 1))


@pytest.mark.parametrize("typed", ["9999-12", "0001-01", "2026-13", "2026-1", "26-01", "2026-01-01", "abcd-ef"])
def test_a_month_out_of_range_or_malformed_is_refused(typed):
    with pytest.raises(ValidationError):
        MonthField().clean(typed)


def test_query_string_helpers_refuse_with_a_bad_request_naming_the_parameter():
    params = QueryDict("day=9999-12-31&month=0001-01&ok=2026-03-04&m=2026-03")
    assert bounds.parse_day(params, "ok") == dt.date(2026, 3, 4)
    assert bounds.parse_month(params, "m") == dt.date(2026, 3, 1)
    assert bounds.parse_day(params, "missing", default=bounds.DATE_MIN) == bounds.DATE_MIN
    with pytest.raises(BadRequest, match="day"):
        bounds.parse_day(params, "day")
    with pytest.raises(BadRequest, match="month"):
        bounds.parse_month(params, "month")
    with pytest.raises(BadRequest):
        bounds.parse_day(QueryDict("day=2026-02-30"), "day")


def test_month_arithmetic_does_not_overflow_at_the_edges_of_the_range():
    assert bounds.add_months(dt.date(2999, 12, 31), 1) == dt.date(3000, 1, 31)
    assert bounds.add_months(dt.date(1900, 1, 31), -1) == dt.date(1899, 12, 31)
    assert bounds.add_months(dt.date(2026, 1, 31), 1) == dt.date(2026, 2, 28)
    with pytest.raises(ValidationError):
        bounds.add_months(dt.date(9999, 12, 1), 1)


def test_a_computed_total_must_fit_its_column():
    column = ServiceVoucher._meta.get_field("total_due")  # NUMERIC(12, 2)
    assert bounds.fits(column, Decimal("9999999999.99"))
    assert not bounds.fits(column, Decimal("10000000000"))
    assert not bounds.fits(column, Decimal("NaN"))
    with pytest.raises(ApplicationError, match=r"9,999,999,999\.99"):
        bounds.require_fits(column, Decimal("9999") * Decimal("99999999.99"))


def test_a_voucher_whose_parts_overflow_the_total_is_refused_not_a_database_error(dispatcher, technician):
    from tests.repairs.field import call_on_site, stock_van

    call = call_on_site(dispatcher=dispatcher, technician=technician)
    # Each fits its column (a catalogue price, a quantity the van holds); their product does not fit the total's.
    stock_van(technician=technician, part_number="P-1", quantity=9999, unit_price=Decimal("99999999.99"))
    parts = [services.PartLine(part_number="P-1", quantity=9999, unit_price=None)]
    with translation.override("en"), pytest.raises(ApplicationError, match="amount due"):
        services.service_voucher_create(
            user=technician,
            call_id=call.pk,
            departed_at=timezone.now(),
            work_done="x",
            parts=parts,
        )
    assert not ServiceVoucher.objects.filter(call=call).exists()


@pytest.fixture
def clerk(unit):
    return UserFactory(username="clerk", unit=unit, roles=[Role.ACCOUNTING])


@pytest.mark.parametrize("day", ["9999-12-31", "0001-01-01", "2026-02-30", "x"])
def test_the_fee_reconciliation_answers_an_impossible_day_with_a_400_saying_why(client, clerk, day):
    client.force_login(clerk)
    response = client.get(reverse("repairs:fee_reconciliation"), {"day": day}, HTTP_ACCEPT_LANGUAGE="zh-hans")
    assert response.status_code == 400
    assert "日期" in response.content.decode()  # the reason, in the user's language
    pdf = client.get(reverse("repairs:fee_reconciliation_pdf"), {"day": day})
    assert pdf.status_code == 400


def test_the_fee_reconciliation_of_the_last_day_of_the_range_renders(client, clerk):
    client.force_login(clerk)
    assert client.get(reverse("repairs:fee_reconciliation"), {"day": "2999-12-31"}).status_code == 200


@pytest.mark.parametrize(("month", "status"), [("9999-12", 400), ("0001-01", 400), ("2026-13", 400), ("2999-12", 200)])
def test_the_penalty_ledger_month_is_bounded(client, unit, month, status):
    client.force_login(UserFactory(username="accounts", unit=unit, roles=[Role.ACCOUNTING]))
    response = client.get(reverse("penalties:ledger"), {"month": month})
    assert response.status_code == status


@pytest.mark.postgres
def test_a_stored_date_python_cannot_hold_reads_as_the_edge_of_the_range(db):
    from django.db import connection

    from tests.conftest import is_postgres

    if not is_postgres():
        pytest.skip("BC dates exist only in PostgreSQL")
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT '0001-01-01 00:00+08'::timestamptz, '0044-03-15 BC'::date, '10000-01-01'::date,"
            " '0001-01-01 BC 12:00'::timestamp, '2026-03-04 05:06+00'::timestamptz"
        )
        bc_instant, bc_day, far_day, bc_naive, ordinary = cursor.fetchone()
    assert bc_instant == dt.datetime(1900, 1, 1, tzinfo=dt.UTC)
    assert (bc_day, far_day) == (bounds.DATE_MIN, bounds.DATE_MAX)
    assert bc_naive == dt.datetime(1900, 1, 1)
    assert ordinary == dt.datetime(2026, 3, 4, 5, 6, tzinfo=dt.UTC)
