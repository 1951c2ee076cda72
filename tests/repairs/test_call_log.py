"""Logging a call through the form: a good call is saved with its deadline; bad input saves nothing."""

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone

from repairs.models import Customer, Product, RepairCall, Site
from servicedesk.models import NumberSequence, StatusChange
from tests.factories import ProductFactory, SiteFactory
from tests.repairs.conftest import new_call_form


def counts():
    return tuple(m.objects.count() for m in (Customer, Site, Product, RepairCall, StatusChange, NumberSequence))


@pytest.fixture
def desk(client, dispatcher):
    client.force_login(dispatcher)
    return client


def _local(moment):
    return timezone.localtime(moment).strftime("%Y-%m-%dT%H:%M")


def test_a_new_customers_call_is_saved_with_its_deadline(desk, dispatcher, urban, unit):
    response = desk.post(reverse("repairs:call_log"), new_call_form(urban))
    call = RepairCall.objects.get()
    assert response.status_code == 302 and response.url == call.get_absolute_url()
    assert call.unit == unit and call.customer.unit == unit
    assert call.customer.name == "Huaxin Printing Co."
    assert call.site.zone == urban and call.zone == urban
    assert call.product.serial_number == "SN-NEW-0001"
    assert call.attend_by == call.received_at + dt.timedelta(hours=6)
    assert call.created_by == dispatcher
    assert call.number.startswith("RC-")


def test_a_call_for_a_looked_up_customer_adds_no_customer(desk, unit, suburban):
    site = SiteFactory(customer__unit=unit, zone=suburban)
    before = counts()
    form = new_call_form(
        suburban,
        customer=site.customer.pk,
        site=site.pk,
        new_customer_name="",
        new_customer_phone="",
        new_site_address="",
        new_site_zone="",
        new_product_model="",
        new_product_serial="",
    )
    assert desk.post(reverse("repairs:call_log"), form).status_code == 302
    call = RepairCall.objects.get()
    assert call.customer == site.customer and call.site == site
    assert call.attend_by == call.received_at + dt.timedelta(hours=7)
    assert Customer.objects.count() == before[0] and Site.objects.count() == before[1]


def _assert_refused(desk, form, *messages):
    before = counts()
    response = desk.post(reverse("repairs:call_log"), form)
    assert response.status_code in (200, 400), response.status_code
    assert response.context["form"].errors
    for message in messages:
        assert message in response.text, message
    assert counts() == before
    return response


def test_an_empty_form_is_refused(desk, urban):
    _assert_refused(desk, {}, "This field is required.")


@pytest.mark.parametrize(
    ("field", "length"),
    [
        ("contact_name", 101),
        ("contact_phone", 33),
        ("problem", 2001),
        ("new_customer_name", 201),
        ("new_site_address", 301),
        ("new_product_model", 101),
        ("new_product_serial", 65),
    ],
)
def test_too_long_input_is_refused(desk, urban, field, length):
    value = "1" * length if "phone" in field else "x" * length
    _assert_refused(desk, new_call_form(urban, **{field: value}), "Ensure this value has at most")


def test_an_unknown_zone_is_refused(desk, urban):
    _assert_refused(desk, new_call_form(urban, new_site_zone=999_999), "Select a valid choice")


def test_an_inactive_zone_is_refused(desk, urban, suburban):
    suburban.is_active = False
    suburban.save()
    _assert_refused(desk, new_call_form(suburban), "Select a valid choice")


def test_a_call_whose_deadline_has_passed_is_accepted_with_its_true_time_and_marked_logged_late(
    desk, dispatcher, urban
):
    """Issue 14: a call read late is logged with its true received time, never refused (no false time)."""
    received = timezone.now() - dt.timedelta(hours=7)
    response = desk.post(reverse("repairs:call_log"), new_call_form(urban, received_at=_local(received)))
    assert response.status_code == 302
    call = RepairCall.objects.get()
    assert timezone.localtime(call.received_at).strftime("%Y-%m-%dT%H:%M") == _local(received)
    assert call.logged_late and call.logged_late_by == dispatcher
    assert call.attend_by < timezone.now()
    page = desk.get(call.get_absolute_url())
    assert "logged-late" in page.text and "overdue by" in page.text


def test_a_received_time_in_the_future_is_refused(desk, urban):
    received = timezone.now() + dt.timedelta(hours=1)
    _assert_refused(desk, new_call_form(urban, received_at=_local(received)), "cannot be received in the future")


@pytest.mark.parametrize("value", ["", "not a date", "2026-13-45T25:61"])
def test_a_missing_or_malformed_received_time_is_refused(desk, urban, value):
    _assert_refused(desk, new_call_form(urban, received_at=value))


@pytest.mark.parametrize("field", ["contact_phone", "new_customer_phone"])
@pytest.mark.parametrize("phone", ["abc", "12", "021-5555-0000; DROP", "++8613800138000", "<script>"])
def test_a_malformed_phone_is_refused(desk, urban, field, phone):
    _assert_refused(desk, new_call_form(urban, **{field: phone}), "Enter a phone number")


def test_neither_an_existing_nor_a_new_customer_is_refused(desk, urban):
    form = new_call_form(urban, new_customer_name="", new_customer_phone="")
    _assert_refused(desk, form, "Enter the new customer, or look up an existing one.")


def test_both_an_existing_and_a_new_customer_is_refused(desk, urban, unit):
    site = SiteFactory(customer__unit=unit)
    form = new_call_form(urban, customer=site.customer.pk, site=site.pk, new_site_address="", new_site_zone="")
    _assert_refused(desk, form, "Choose the looked-up customer or enter a new one, not both.")


def test_both_an_existing_and_a_new_site_is_refused(desk, urban, unit):
    site = SiteFactory(customer__unit=unit)
    form = new_call_form(urban, customer=site.customer.pk, site=site.pk, new_customer_name="", new_customer_phone="")
    _assert_refused(desk, form, "enter a new address, not both.")


def test_a_site_of_another_customer_is_refused(desk, urban, unit):
    mine = SiteFactory(customer__unit=unit)
    someone_elses = SiteFactory(customer__unit=unit)
    form = new_call_form(
        urban,
        customer=mine.customer.pk,
        site=someone_elses.pk,
        new_customer_name="",
        new_customer_phone="",
        new_site_address="",
        new_site_zone="",
    )
    _assert_refused(desk, form, "This site belongs to another customer.")


def test_a_site_without_a_zone_is_refused(desk, urban):
    _assert_refused(desk, new_call_form(urban, new_site_zone=""), "Choose the site&#x27;s zone.")


def test_a_model_without_a_serial_number_is_refused(desk, urban):
    _assert_refused(desk, new_call_form(urban, new_product_serial=""), "Enter both the model and the serial number")


def test_a_serial_number_already_registered_is_refused(desk, urban, unit):
    ProductFactory(customer__unit=unit, serial_number="SN-TAKEN-1")
    form = new_call_form(urban, new_product_serial="SN-TAKEN-1")
    _assert_refused(desk, form, "A product with this serial number is already registered.")


def test_a_serial_number_registered_in_another_unit_is_refused_without_revealing_it(desk, urban, other_unit):
    ProductFactory(customer__unit=other_unit, customer__name="Secret Customer", serial_number="SN-TAKEN-2")
    response = _assert_refused(desk, new_call_form(urban, new_product_serial="SN-TAKEN-2"), "already registered")
    assert "Secret Customer" not in response.text


def test_an_unknown_channel_or_cover_is_refused(desk, urban):
    _assert_refused(desk, new_call_form(urban, channel="pigeon"), "Select a valid choice")
    _assert_refused(desk, new_call_form(urban, coverage="free-for-ever"), "Select a valid choice")


def test_a_bad_email_is_refused(desk, urban):
    _assert_refused(desk, new_call_form(urban, new_customer_email="not-an-email"), "Enter a valid email address.")


def test_garbage_ids_are_form_errors_not_500(desk, urban):
    _assert_refused(desk, new_call_form(urban, customer="abc", site="1 OR 1=1", product="-1"))


def test_the_form_page_renders(desk):
    response = desk.get(reverse("repairs:call_log"))
    assert response.status_code == 200
    assert 'name="received_at"' in response.text
