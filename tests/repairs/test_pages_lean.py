"""The pages people open most cost a fixed, small number of queries however much they carry (issue 17)."""

from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from repairs import services
from tests.factories import log_call
from tests.repairs.field import call_on_site, draft_voucher

# session, user (its permissions and roles are kept: servicedesk.backends), the call, its visits, its history
CALL_DETAIL_QUERIES = 5


def _queries(client, url):
    client.get(url)  # the user's first request reads its permissions; every later one finds them kept
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url)
    assert response.status_code == 200
    return len(captured.captured_queries), response.text


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
        few, _page = _queries(client, reverse("repairs:call_detail", args=[small.pk]))
        many, page = _queries(client, reverse("repairs:call_detail", args=[big.pk]))
        assert few == many <= CALL_DETAIL_QUERIES, (user, few, many)
        assert page.count("/vouchers/") >= 10, page[page.find("field-service") : page.find("field-service") + 600]


def test_a_call_with_twenty_history_rows_costs_what_a_new_one_costs(client, dispatcher, technician, technician_b):
    new = log_call(dispatcher=dispatcher)
    busy = log_call(dispatcher=dispatcher)
    _reassigned(busy, dispatcher=dispatcher, technicians=(technician, technician_b), times=20)
    client.force_login(dispatcher)
    client.get(reverse("repairs:call_detail", args=[new.pk]))  # the unit's technician list, read once per process
    few, _page = _queries(client, reverse("repairs:call_detail", args=[new.pk]))
    many, page = _queries(client, reverse("repairs:call_detail", args=[busy.pk]))
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
