"""Each API request runs a fixed number of queries, counted whole (the token's look-up included), whatever the
number of calls, sites and products behind it (Zulip's query counts). The user's permissions and roles are
read once and then kept briefly in the cache (servicedesk.backends): one query more on a token's first request."""

import datetime as dt

import pytest
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from repairs import services
from repairs.models import Site
from servicedesk import backends
from tests.factories import CustomerFactory, ProductFactory, SiteFactory, log_call

from .test_calls import _log_payload

CALLS = "/api/v1/calls/"
# The token (with its user and unit), the page of calls.
LIST_QUERIES = 2
DETAIL_QUERIES = 2  # the token, the call with its unit, customer, site, zone and product
# The token, the form's site (with its customer and zone), the call number (UPDATE … RETURNING), the call (its
# cover decided in the INSERT), its status history row, and repair_call_log's savepoint and its release inside
# the test's transaction (the webhook subscriptions and the zone's calendar are kept per process).
CREATE_QUERIES = 7
# A token's first request (or the first after a change of anyone's roles): the permissions' UNION besides.
PERMISSIONS_READ = 1


class Counted(int):
    """A query count that prints its queries when an assertion on it fails."""

    def __repr__(self):
        return f"{int(self)}: " + "\n".join(q["sql"][:160] for q in self.queries)


def _count(request) -> int:
    with CaptureQueriesContext(connection) as ctx:
        response = request()
    assert response.status_code in (200, 201), response.content
    counted = Counted(len(ctx.captured_queries))
    counted.queries = ctx.captured_queries
    return counted


def _calls(dispatcher, count, start=0):
    for i in range(start, start + count):
        site = SiteFactory(customer=CustomerFactory(unit=dispatcher.unit))
        log_call(dispatcher=dispatcher, site=site, received_at=timezone.now() - dt.timedelta(minutes=i))


@pytest.mark.parametrize("who", ["dispatcher", "head_office_user"])
def test_the_list_runs_the_same_queries_for_3_and_60_calls(request, api_for, dispatcher, who):
    user = request.getfixturevalue(who)
    api = api_for(user)
    _calls(dispatcher, 3)
    # The first request reads the permissions and writes the token's "last used" (once a minute at most).
    cache.delete(backends._user_key(user.pk))  # kept already if the user was asked a permission before
    assert _count(lambda: api.get(CALLS)) == LIST_QUERIES + PERMISSIONS_READ + 1
    assert _count(lambda: api.get(CALLS)) == LIST_QUERIES
    _calls(dispatcher, 57, start=3)
    assert len(api.get(CALLS).json()["results"]) == 50
    assert _count(lambda: api.get(CALLS)) == LIST_QUERIES
    next_page = api.get(CALLS).json()["next"]
    assert _count(lambda: api.get(CALLS, {"after": next_page})) == LIST_QUERIES


def test_one_call_runs_the_same_queries_whatever_its_state(api_for, dispatcher, technician):
    api = api_for(dispatcher)
    call = log_call(dispatcher=dispatcher)
    api.get(f"{CALLS}{call.pk}/")
    assert _count(lambda: api.get(f"{CALLS}{call.pk}/")) == DETAIL_QUERIES
    services.repair_call_dispatch(user=dispatcher, call_id=call.pk, technician=technician)
    assert _count(lambda: api.get(f"{CALLS}{call.pk}/")) == DETAIL_QUERIES


def test_logging_a_call_runs_the_same_queries_for_a_new_and_a_busy_customer(api_for, dispatcher):
    log_call(dispatcher=dispatcher)  # the year's call numbers have begun (the first call makes their counter)
    api = api_for(dispatcher)
    api.get(CALLS)
    fresh = _log_payload(dispatcher)
    assert _count(lambda: api.post(CALLS, fresh)) == CREATE_QUERIES
    # A customer with many sites, products and calls: nothing in the request reads them.
    busy = _log_payload(dispatcher)
    site = Site.objects.select_related("customer").get(pk=busy["site"])
    for _n in range(5):
        SiteFactory(customer=site.customer)
        ProductFactory(customer=site.customer)
    for _n in range(20):
        log_call(dispatcher=dispatcher, site=site)
    assert _count(lambda: api.post(CALLS, busy)) == CREATE_QUERIES
