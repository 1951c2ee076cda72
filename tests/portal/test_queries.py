"""The portal's lists cost the same number of queries however many rows they show."""

from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from repairs.services import repair_call_log
from tests.factories import ProductFactory


def _log(customer, site, product):
    return repair_call_log(
        user=None,
        submitted_by_customer=customer,
        unit=customer.unit,
        customer=customer,
        site=site,
        product=product,
        received_at=timezone.now(),
        contact_name="王",
        contact_phone="13800138000",
        problem="x",
        channel="portal",
    )


def _queries(client, name) -> int:
    with CaptureQueriesContext(connection) as captured:
        assert client.get(reverse(name)).status_code == 200
    return len(captured)


def test_lists_run_a_fixed_number_of_queries(portal_client, customer, site, product):
    _log(customer, site, product)
    names = ("portal:home", "portal:calls", "portal:equipment", "portal:contracts", "portal:surveys", "portal:opinions")
    few = {name: _queries(portal_client, name) for name in names}
    for n in range(4):
        extra = ProductFactory(customer=customer, site=site, serial_number=f"SN-Q-{n}")
        _log(customer, site, extra)
    many = {name: _queries(portal_client, name) for name in names}
    assert many == few
