"""Customer and product records, saved views, the repeat-repair flag on the board, the links to the records."""

import datetime as dt

import pytest
from django.db import IntegrityError, connection, transaction
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from records import services as record_services
from records.models import DefaultView, SavedView
from records.selectors import customer_timeline, repeat_repairs
from repairs import services
from repairs.models import RepairCall
from servicedesk.exceptions import ApplicationError
from servicedesk.roles import Role
from tests.factories import CustomerFactory, ProductFactory, SiteFactory, UserFactory, log_call
from tests.repairs.field import signed_voucher


def _calls_for(dispatcher, customer, product, count, *, start=0):
    site = customer.sites.first() or SiteFactory(customer=customer)
    return [
        log_call(
            dispatcher=dispatcher,
            site=site,
            product=product,
            received_at=timezone.now() - dt.timedelta(minutes=start + i),
        )
        for i in range(count)
    ]


@pytest.fixture
def customer(dispatcher):
    return CustomerFactory(unit=dispatcher.unit, name="华东精密")


def test_customer_page_shows_contact_sites_products_and_timeline(client, dispatcher, customer):
    product = ProductFactory(customer=customer, serial_number="SN-REC-1")
    calls = _calls_for(dispatcher, customer, product, 3)
    client.force_login(dispatcher)
    response = client.get(reverse("records:customer", args=[customer.pk]))
    assert response.status_code == 200
    text = response.text
    assert "华东精密" in text and customer.phone in text and "SN-REC-1" in text
    assert all(c.number in text for c in calls)


def test_another_units_customer_and_product_are_404(client, dispatcher, other_dispatcher, head_office_user):
    theirs = CustomerFactory(unit=other_dispatcher.unit)
    product = ProductFactory(customer=theirs, serial_number="SN-OTHER")
    client.force_login(dispatcher)
    assert client.get(reverse("records:customer", args=[theirs.pk])).status_code == 404
    assert client.get(reverse("records:product", args=["SN-OTHER"])).status_code == 404
    client.force_login(head_office_user)
    assert client.get(reverse("records:customer", args=[theirs.pk])).status_code == 200
    assert client.get(reverse("records:product", args=[product.serial_number])).status_code == 200


def test_the_timeline_is_newest_first_and_pages_without_gaps(dispatcher, customer):
    calls = _calls_for(dispatcher, customer, None, 7)
    seen, cursor = [], None
    for _ in range(5):
        rows, cursor = customer_timeline(user=dispatcher, customer=customer, cursor=cursor, limit=3)
        seen += [r.title for r in rows if r.kind == "call"]
        if cursor is None:
            break
    assert seen == [c.number for c in calls]


def test_customer_page_runs_the_same_number_of_queries_for_3_and_30_calls(client, dispatcher, customer):
    product = ProductFactory(customer=customer)
    _calls_for(dispatcher, customer, product, 3)
    client.force_login(dispatcher)
    url = reverse("records:customer", args=[customer.pk])
    client.get(url)
    with CaptureQueriesContext(connection) as few:
        client.get(url)
    _calls_for(dispatcher, customer, product, 27, start=10)
    with CaptureQueriesContext(connection) as many:
        client.get(url)
    assert len(many.captured_queries) == len(few.captured_queries)


def test_product_page_counts_calls_back_within_30_days_of_a_repair(client, dispatcher, technician, customer):
    product = ProductFactory(customer=customer, serial_number="SN-REPEAT")
    first = _calls_for(dispatcher, customer, product, 1, start=120)[0]
    services.repair_call_dispatch(user=dispatcher, call_id=first.pk, technician=technician)
    services.repair_call_record_arrival(user=technician, call_id=first.pk)
    signed_voucher(technician=technician, call=first)  # DOMAIN 2: the visit is signed before it is resolved
    services.repair_call_resolve(user=technician, call_id=first.pk, outcome="Fixed")
    again = _calls_for(dispatcher, customer, product, 1)[0]
    client.force_login(dispatcher)
    response = client.get(reverse("records:product", args=["SN-REPEAT"]))
    assert response.status_code == 200
    assert 'id="repeat-count">1<' in response.text
    assert again.number in response.text and first.number in response.text


def test_repeat_repairs_only_counts_within_30_days():
    class C:
        def __init__(self, pk, received, done, status="resolved"):
            self.pk, self.received_at, self.resolved_at, self.closed_at, self.status = pk, received, done, None, status

    t = timezone.now()
    calls = [
        C(1, t - dt.timedelta(days=100), t - dt.timedelta(days=99)),
        C(2, t - dt.timedelta(days=80), t - dt.timedelta(days=79)),  # 20 days after 1's repair: a repeat
        C(3, t - dt.timedelta(days=10), None, status="logged"),  # 69 days after: not
    ]
    assert repeat_repairs(calls) == {2}


def test_the_board_flags_a_new_call_for_a_product_repaired_in_the_last_30_days(
    client, dispatcher, technician, customer
):
    product = ProductFactory(customer=customer, serial_number="SN-BOARD")
    first = _calls_for(dispatcher, customer, product, 1, start=60)[0]
    services.repair_call_dispatch(user=dispatcher, call_id=first.pk, technician=technician)
    services.repair_call_record_arrival(user=technician, call_id=first.pk)
    signed_voucher(technician=technician, call=first)  # DOMAIN 2: the visit is signed before it is resolved
    services.repair_call_resolve(user=technician, call_id=first.pk, outcome="Fixed")
    _calls_for(dispatcher, customer, product, 1)
    other = ProductFactory(customer=customer)
    _calls_for(dispatcher, customer, other, 1, start=5)
    client.force_login(dispatcher)
    response = client.get(reverse("repairs:board"), {"all": "1"})
    assert response.text.count("repeat-repair") == 1
    # The board links to the customer's and the product's records (through servicedesk.extensions).
    assert reverse("records:customer", args=[customer.pk]) in response.text
    assert reverse("records:product", args=["SN-BOARD"]) in response.text


def test_the_call_page_and_the_lookup_link_to_the_records(client, dispatcher, customer):
    product = ProductFactory(customer=customer, serial_number="SN-LINK")
    call = _calls_for(dispatcher, customer, product, 1)[0]
    client.force_login(dispatcher)
    page = client.get(call.get_absolute_url()).text
    assert reverse("records:customer", args=[customer.pk]) in page
    assert reverse("records:product", args=["SN-LINK"]) in page
    lookup = client.get(reverse("repairs:customer_lookup"), {"q": "华东精密"}).text
    assert reverse("records:customer", args=[customer.pk]) in lookup


# --- saved views ---------------------------------------------------------------------------------------


def test_a_saved_view_keeps_only_valid_filters(dispatcher):
    view = record_services.saved_view_save(
        user=dispatcher, page="calls", name="Late ones", querystring="attended=late&after=x&bogus=1", shared=False
    )
    assert view.querystring == "attended=late"
    with pytest.raises(ApplicationError):
        record_services.saved_view_save(
            user=dispatcher, page="calls", name="Bad", querystring="date_from=0001-01-01", shared=False
        )


def test_a_default_view_applies_when_the_page_opens_without_filters(client, dispatcher):
    view = record_services.saved_view_save(
        user=dispatcher, page="calls", name="Closed", querystring="status=closed", shared=False
    )
    record_services.saved_view_make_default(user=dispatcher, view_id=view.pk)
    client.force_login(dispatcher)
    response = client.get(reverse("records:calls"))
    assert response.status_code == 302 and response["Location"].endswith("?status=closed")
    assert client.get(reverse("records:calls"), {"all": "1"}).status_code == 200


def test_one_default_per_user_and_page(dispatcher):
    a = record_services.saved_view_save(user=dispatcher, page="board", name="A", querystring="", shared=False)
    b = record_services.saved_view_save(user=dispatcher, page="board", name="B", querystring="", shared=False)
    record_services.saved_view_make_default(user=dispatcher, view_id=a.pk)
    record_services.saved_view_make_default(user=dispatcher, view_id=b.pk)
    assert DefaultView.objects.get(user=dispatcher, page="board").view == b
    with pytest.raises(IntegrityError), transaction.atomic():
        DefaultView.objects.create(user=dispatcher, page="board", view=a)


def test_a_shared_view_is_seen_by_the_unit_only_and_deleted_by_its_owner_only(
    client, dispatcher, supervisor, other_dispatcher
):
    view = record_services.saved_view_save(
        user=dispatcher, page="board", name="Mine shared", querystring="status=logged", shared=True
    )
    colleague = UserFactory(username="disp2", unit=dispatcher.unit, roles=[Role.DISPATCHER])
    client.force_login(colleague)
    board = client.get(reverse("repairs:board"), {"all": "1"}).text
    assert 'data-name="Mine shared"' in board
    response = client.post(reverse("records:saved_view_delete"), {"view": view.pk, "page": "board"})
    assert response.status_code == 302 and SavedView.objects.filter(pk=view.pk).exists()
    # The colleague may make it their default.
    client.post(reverse("records:saved_view_default"), {"view": view.pk, "page": "board"})
    assert DefaultView.objects.get(user=colleague, page="board").view == view
    client.force_login(other_dispatcher)
    assert 'data-name="Mine shared"' not in client.get(reverse("repairs:board"), {"all": "1"}).text
    assert client.post(reverse("records:saved_view_default"), {"view": view.pk, "page": "board"}).status_code == 404
    client.force_login(dispatcher)
    client.post(reverse("records:saved_view_delete"), {"view": view.pk, "page": "board"})
    assert not SavedView.objects.filter(pk=view.pk).exists()


def test_the_board_query_count_is_unchanged_by_the_flag_for_1_and_20_rows(client, dispatcher, customer):
    client.force_login(dispatcher)
    client.get(reverse("repairs:board"), {"all": "1"})
    _calls_for(dispatcher, customer, ProductFactory(customer=customer), 1)
    with CaptureQueriesContext(connection) as one:
        client.get(reverse("repairs:board"), {"all": "1"})
    for _ in range(19):
        product = ProductFactory(customer=customer)
        _calls_for(dispatcher, customer, product, 1, start=3)
    with CaptureQueriesContext(connection) as many:
        client.get(reverse("repairs:board"), {"all": "1"})
    assert len(many.captured_queries) == len(one.captured_queries)
    assert RepairCall.objects.count() == 20
