"""Branch isolation on every repairs URL: another unit's call is a 404, deny by default.

The URL patterns are read from the resolver and the actions from the view's table, so a new
URL or action is either classified here or fails ``test_every_repairs_url_is_classified``.
"""

from pathlib import Path
from urllib.parse import quote_plus

import pytest
from django.urls import reverse
from django.utils import timezone

from repairs import services
from repairs.models import Customer, Product, RepairCall, Site
from repairs.views.calls import ACTIONS
from servicedesk.exceptions import ApplicationError
from servicedesk.models import StatusChange
from servicedesk.roles import Role
from tests.factories import ProductFactory, SiteFactory, UserFactory, log_call
from tests.repairs.conftest import new_call_form
from tests.urlwalk import routes

# URLs that name one call: another unit's user must get a 404 for them.
CALL_URLS = {"repairs:call_detail", "repairs:call_action", "repairs:board_dispatch"}


def _repairs_routes():
    return [r for r in routes() if r.namespace == "repairs"]


def _covered_by_other_isolation_tests():
    """Object URLs of other workflows are checked by their own test_*isolation*.py, which must name them."""
    here = Path(__file__)
    return "".join(p.read_text() for p in here.parent.glob("test_*isolation*.py") if p != here)


def test_every_repairs_object_url_is_classified():
    elsewhere = _covered_by_other_isolation_tests()
    unclassified = {
        r.name for r in _repairs_routes() if r.kwargs and r.name not in CALL_URLS and f'"{r.name}"' not in elsewhere
    }
    assert not unclassified, f"test the unit scoping of {sorted(unclassified)} in a tests/repairs/test_*isolation*.py"


@pytest.mark.parametrize("route", [r for r in _repairs_routes() if not r.kwargs], ids=lambda r: r.name)
def test_no_list_or_search_url_shows_another_units_records(client, their_call, other_supervisor, route):
    """Every URL without an id (boards, lists, look-ups, reports) is walked; ours never shows up for them."""
    secrets = [their_call.number, their_call.customer.name, their_call.customer.phone]
    client.force_login(other_supervisor)
    for params in ({}, {"q": their_call.customer.name}, {"q": their_call.number}):
        response = client.get(reverse(route.name), params)
        assert response.status_code in (200, 302, 403), f"{route.name}: {response.status_code}"
        body = response.content.decode(errors="replace")
        if params:  # the search box and links echo what was searched for; that is not a leak
            searched = params["q"]
            for echo in (f'value="{searched}"', f"q={searched}", f"q={quote_plus(searched)}"):
                body = body.replace(echo, "")
        for secret in secrets:
            assert secret not in body, f"{route.name}?{params} shows {secret}"


def _action_data(call, technician):
    """One payload that satisfies every action form, so only the unit boundary can refuse it."""
    return {
        "version": call.version,
        "technician": technician.pk,
        "reason": "Because",
        "arrived_at": timezone.localtime().strftime("%Y-%m-%dT%H:%M"),
        "outcome": "Done",
        "note": "ok",
    }


def _call_urls(call):
    """Every (method, url) of every call URL: both methods on each pattern, every action."""
    for route in _repairs_routes():
        if route.name not in CALL_URLS:
            continue
        actions = sorted(ACTIONS) if "action" in route.kwargs else [None]
        for action in actions:
            kwargs = {"pk": call.pk} | ({"action": action} if action else {})
            for method in ("get", "post"):
                yield method, reverse(route.name, kwargs=kwargs)


@pytest.fixture
def their_call(dispatcher, technician, unit):
    site = SiteFactory(customer__unit=unit, customer__name="Jiading Unique Plastics", customer__phone="021-5999-4321")
    call = log_call(dispatcher=dispatcher, site=site)
    services.repair_call_dispatch(user=dispatcher, call_id=call.pk, technician=technician)
    call.refresh_from_db()
    return call


def test_another_units_user_gets_404_for_every_url_of_a_call(client, their_call, other_supervisor, other_technician):
    client.force_login(other_supervisor)
    history = StatusChange.objects.count()
    refused = []
    for method, url in _call_urls(their_call):
        response = getattr(client, method)(url, _action_data(their_call, other_technician) if method == "post" else {})
        # 405 is a method the URL never accepts (a GET on an action); the view is never reached.
        assert response.status_code in (404, 405), f"{method.upper()} {url}: {response.status_code}"
        if response.status_code == 404:
            refused.append((method, url))
    assert ("get", their_call.get_absolute_url()) in refused
    assert {url for method, url in refused if method == "post"} >= {
        reverse("repairs:call_action", args=[their_call.pk, action]) for action in ACTIONS
    }
    fresh = RepairCall.objects.get(pk=their_call.pk)
    assert (fresh.status, fresh.version, fresh.technician_id) == (their_call.status, 2, their_call.technician_id)
    assert StatusChange.objects.count() == history


def test_the_own_units_supervisor_reaches_the_same_urls(client, their_call, supervisor):
    client.force_login(supervisor)
    assert client.get(their_call.get_absolute_url()).status_code == 200
    response = client.post(
        reverse("repairs:call_action", args=[their_call.pk, "cancel"]), {"version": 2, "reason": "Customer called back"}
    )
    assert response.status_code == 302
    assert RepairCall.objects.get(pk=their_call.pk).status == RepairCall.Status.CANCELLED


def test_another_units_calls_are_not_on_the_board_or_my_calls(client, their_call, other_dispatcher, other_technician):
    mine = log_call(dispatcher=other_dispatcher)
    services.repair_call_dispatch(user=other_dispatcher, call_id=mine.pk, technician=other_technician)
    client.force_login(other_dispatcher)
    board = client.get(reverse("repairs:board")).text
    assert mine.number in board and their_call.number not in board
    found = client.get(reverse("repairs:board"), {"q": their_call.number}).text
    assert f'data-call="{their_call.number}"' not in found
    client.force_login(other_technician)
    my_calls = client.get(reverse("repairs:my_calls")).text
    assert mine.number in my_calls and their_call.number not in my_calls


def test_filtering_the_board_by_another_unit_shows_nothing(client, their_call, other_dispatcher, unit):
    client.force_login(other_dispatcher)
    response = client.get(reverse("repairs:board"), {"unit": unit.pk, "technician": their_call.technician_id})
    assert response.status_code == 200
    assert their_call.number not in response.text


def test_head_office_sees_every_units_calls(client, their_call, other_dispatcher, head_office_user):
    theirs_too = log_call(dispatcher=other_dispatcher)
    client.force_login(head_office_user)
    board = client.get(reverse("repairs:board")).text
    assert their_call.number in board and theirs_too.number in board
    assert client.get(their_call.get_absolute_url()).status_code == 200
    assert client.get(theirs_too.get_absolute_url()).status_code == 200


def test_head_office_can_filter_the_board_by_unit(client, their_call, other_dispatcher, head_office_user, other_unit):
    theirs_too = log_call(dispatcher=other_dispatcher)
    client.force_login(head_office_user)
    board = client.get(reverse("repairs:board"), {"unit": other_unit.pk}).text
    assert theirs_too.number in board and their_call.number not in board


@pytest.fixture
def unitless_dispatcher(db):
    return UserFactory(username="nobody", unit=None, roles=[Role.DISPATCHER, Role.TECHNICIAN])


def test_a_user_without_a_unit_sees_nothing(client, their_call, unitless_dispatcher, unit):
    customer = their_call.customer
    client.force_login(unitless_dispatcher)
    assert their_call.number not in client.get(reverse("repairs:board")).text
    assert their_call.number not in client.get(reverse("repairs:board"), {"unit": unit.pk}).text
    assert client.get(their_call.get_absolute_url()).status_code == 404
    lookup = client.get(reverse("repairs:customer_lookup"), {"q": customer.name})
    assert lookup.status_code == 200 and customer.name not in lookup.text
    assert their_call.number not in client.get(reverse("repairs:my_calls")).text
    response = client.post(
        reverse("repairs:call_action", args=[their_call.pk, "cancel"]), {"version": 2, "reason": "x"}
    )
    assert response.status_code == 404


def test_a_user_without_a_unit_cannot_log_a_call(client, unitless_dispatcher, urban):
    client.force_login(unitless_dispatcher)
    counts = (Customer.objects.count(), RepairCall.objects.count())
    response = client.post(reverse("repairs:call_log"), new_call_form(urban))
    assert response.status_code in (200, 400)
    assert "unit" in response.text
    assert (Customer.objects.count(), RepairCall.objects.count()) == counts


def test_a_dispatcher_cannot_dispatch_a_technician_of_another_unit(dispatcher, other_technician):
    call = log_call(dispatcher=dispatcher)
    with pytest.raises(ApplicationError) as excinfo:
        services.repair_call_dispatch(user=dispatcher, call_id=call.pk, technician=other_technician)
    assert excinfo.value.field == "technician"
    assert RepairCall.objects.get(pk=call.pk).status == RepairCall.Status.LOGGED


def test_the_dispatch_form_refuses_a_technician_of_another_unit(client, dispatcher, other_technician):
    call = log_call(dispatcher=dispatcher)
    client.force_login(dispatcher)
    response = client.post(
        reverse("repairs:call_action", args=[call.pk, "dispatch"]), {"version": 1, "technician": other_technician.pk}
    )
    assert response.status_code == 400
    assert "Select a valid choice" in response.text
    assert str(other_technician) not in response.text.split('id="action-dispatch"')[1].split("</select>")[0]
    assert RepairCall.objects.get(pk=call.pk).technician is None


def test_a_dispatcher_of_another_unit_cannot_dispatch_our_call_even_to_our_technician(
    dispatcher, technician, other_dispatcher
):
    call = log_call(dispatcher=dispatcher)
    with pytest.raises(ApplicationError, match="another unit"):
        services.repair_call_dispatch(user=other_dispatcher, call_id=call.pk, technician=technician)


def test_the_customer_lookup_never_returns_another_units_customers(client, dispatcher, other_dispatcher, unit):
    site = SiteFactory(customer__unit=unit, customer__name="Jinling Hotel", customer__phone="025-8888-1234")
    ProductFactory(customer=site.customer, site=site, serial_number="SN-JL-777")
    client.force_login(other_dispatcher)
    for q in ("Jinling", "jinling hotel", "8888-1234", "025", "SN-JL-777", "sn-jl-777"):
        response = client.get(reverse("repairs:customer_lookup"), {"q": q})
        assert response.status_code == 200
        assert "Jinling" not in response.text, q
    client.force_login(dispatcher)
    for q in ("Jinling", "8888-1234", "SN-JL-777"):
        assert "Jinling Hotel" in client.get(reverse("repairs:customer_lookup"), {"q": q}).text, q


def test_logging_a_call_on_another_units_customer_site_or_product_is_refused(
    client, dispatcher, other_dispatcher, unit
):
    site = SiteFactory(customer__unit=unit)
    product = ProductFactory(customer=site.customer, site=site)
    client.force_login(other_dispatcher)
    counts = (Customer.objects.count(), Site.objects.count(), Product.objects.count(), RepairCall.objects.count())
    form = {
        "customer": site.customer.pk,
        "site": site.pk,
        "product": product.pk,
        "contact_name": "Mr Zhao",
        "contact_phone": "139 0000 0000",
        "channel": "phone",
        "coverage": "unknown",
        "problem": "Noise",
        "received_at": timezone.localtime().strftime("%Y-%m-%dT%H:%M"),
    }
    response = client.post(reverse("repairs:call_log"), form)
    assert response.status_code in (200, 400)
    assert "Select a valid choice" in response.text
    assert (
        Customer.objects.count(),
        Site.objects.count(),
        Product.objects.count(),
        RepairCall.objects.count(),
    ) == counts


def test_the_service_refuses_another_units_customer(other_dispatcher, unit):
    site = SiteFactory(customer__unit=unit)
    with pytest.raises(ApplicationError):
        log_call(dispatcher=other_dispatcher, site=site)
    assert not RepairCall.objects.exists()
