"""The pages people open most cost a fixed, small number of queries however much they carry (issue 17)."""

from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from repairs import services
from repairs.models import RepairCall
from tests.factories import CustomerFactory, ProductFactory, SiteFactory, log_call
from tests.page_queries import page_queries
from tests.repairs.field import call_on_site, draft_voucher

# session, user (its permissions and roles are kept: servicedesk.backends), the call, its vouchers, its visits,
# its history
CALL_DETAIL_QUERIES = 6


def _reassigned(call, *, dispatcher, technicians, times):
    """``times`` reassignments before arrival: history rows the page lists."""
    for i in range(times):
        services.repair_call_dispatch(
            user=dispatcher, call_id=call.pk, technician=technicians[i % 2], reason=f"reassigned {i}"
        )


def test_the_call_page_costs_the_same_queries_with_20_history_rows_and_10_vouchers(
    client, dispatcher, technician, technician_b
):
    small = call_on_site(dispatcher=dispatcher, technician=technician)
    draft_voucher(technician=technician, call=small)
    big = call_on_site(dispatcher=dispatcher, technician=technician)
    for _ in range(10):
        draft_voucher(technician=technician, call=big)
    for user in (dispatcher, technician):
        client.force_login(user)
        few, _page = page_queries(client, reverse("repairs:call_detail", args=[small.pk]))
        many, page = page_queries(client, reverse("repairs:call_detail", args=[big.pk]))
        assert few == many <= CALL_DETAIL_QUERIES, (user, few, many)
        assert page.count("/vouchers/") >= 10, page[page.find("field-service") : page.find("field-service") + 600]


def test_a_call_with_twenty_history_rows_costs_what_a_new_one_costs(client, dispatcher, technician, technician_b):
    new = log_call(dispatcher=dispatcher)
    busy = log_call(dispatcher=dispatcher)
    _reassigned(busy, dispatcher=dispatcher, technicians=(technician, technician_b), times=20)
    client.force_login(dispatcher)
    client.get(reverse("repairs:call_detail", args=[new.pk]))  # the unit's technician list, read once per process
    few, _page = page_queries(client, reverse("repairs:call_detail", args=[new.pk]))
    many, page = page_queries(client, reverse("repairs:call_detail", args=[busy.pk]))
    assert few == many <= CALL_DETAIL_QUERIES
    assert page.count("reassigned ") == 20
    # The dispatch form drawn without crispy: the same field names, the current technician chosen.
    assert 'name="technician"' in page and 'name="version"' in page and "selected>" in page


LOG_CALL_FORM_QUERIES = 8


def test_the_call_log_form_page_stays_within_its_query_budget(client, dispatcher):
    client.force_login(dispatcher)
    url = reverse("repairs:call_log")
    client.get(url)  # options read once per process
    with CaptureQueriesContext(connection) as form_page:
        page = client.get(url).text
    assert len(form_page.captured_queries) <= LOG_CALL_FORM_QUERIES
    assert 'id="customer-search"' in page and "autofocus" in page


LOG_CALL_POST_QUERIES = 8  # session, user, the chosen rows, the transaction's two, counter, call, history


def _known_customer_post(call, **extra):
    return {
        "customer": call.customer_id,
        "site": call.site_id,
        **({"product": call.product_id} if call.product_id else {}),
        "contact_name": "Ms Li",
        "contact_phone": "13800138000",
        "channel": "phone",
        "coverage": "unknown",
        "problem": "Error E4 again",
        "received_at": timezone.localtime().strftime("%Y-%m-%dT%H:%M"),
        **extra,
    }


def _logged(client, data):
    with CaptureQueriesContext(connection) as captured:
        response = client.post(reverse("repairs:call_log"), data)
    assert response.status_code == 302, response.content.decode()[:2000]
    return len(captured.captured_queries), response


def test_logging_a_call_for_a_known_customer_stays_within_its_query_budget(client, dispatcher, technician):
    client.force_login(dispatcher)
    known = log_call(dispatcher=dispatcher)
    client.get(reverse("repairs:call_log"))  # options read once per process
    _logged(client, _known_customer_post(known, problem="first"))  # the webhook subscriptions, kept per process
    before = set(RepairCall.objects.values_list("pk", flat=True))
    queries, response = _logged(client, _known_customer_post(known))
    assert queries <= LOG_CALL_POST_QUERIES, queries
    (new_pk,) = set(RepairCall.objects.values_list("pk", flat=True)) - before
    logged = RepairCall.objects.get(pk=new_pk)
    assert response.url == logged.get_absolute_url()
    assert (logged.customer_id, logged.site_id, logged.problem, logged.created_by_id) == (
        known.customer_id,
        known.site_id,
        "Error E4 again",
        dispatcher.pk,
    )
    assert logged.status == RepairCall.Status.LOGGED and logged.attend_by and logged.number.startswith("RC-")
    # With a product of the customer (out of warranty: its contract cover is asked too), the same budget.
    # (The first such post prepares its read on the connection: servicedesk.prepared.)
    product = ProductFactory(customer=known.customer, site=known.site, warranty_end=None)
    _logged(client, _known_customer_post(known, product=product.pk, problem="first with the product"))
    queries, response = _logged(client, _known_customer_post(known, product=product.pk))
    assert queries <= LOG_CALL_POST_QUERIES, queries
    assert {call.coverage for call in RepairCall.objects.filter(product=product)} == {RepairCall.Coverage.UNKNOWN}


def test_the_known_customers_choices_are_still_refused_across_customers_and_units(client, dispatcher, other_dispatcher):
    client.force_login(dispatcher)
    mine = log_call(dispatcher=dispatcher)
    elsewhere = log_call(dispatcher=other_dispatcher)
    someone_else = SiteFactory(customer=CustomerFactory(unit=dispatcher.unit))
    url = reverse("repairs:call_log")
    foreign_site = client.post(url, _known_customer_post(mine, site=elsewhere.site_id))
    assert foreign_site.status_code == 200 and "Select a valid choice" in foreign_site.text
    other_customers_site = client.post(url, _known_customer_post(mine, site=someone_else.pk))
    assert "This site belongs to another customer." in other_customers_site.text
    foreign_product = ProductFactory(customer=elsewhere.customer, site=elsewhere.site)
    refused = client.post(url, _known_customer_post(mine, product=foreign_product.pk))
    assert "Select a valid choice" in refused.text
    not_a_number = client.post(url, _known_customer_post(mine, site="x1", customer="1 OR 1=1"))
    assert not_a_number.text.count("Select a valid choice") == 2
