"""The dispatch board: flat query count, keyset pagination, ordering, filters, search, the htmx partial."""

import datetime as dt
import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from repairs import services
from repairs.models import RepairCall
from repairs.selectors import BOARD_PAGE_SIZE
from tests.factories import CustomerFactory, ProductFactory, SiteFactory, log_call

ROW = re.compile(r'data-call="([^"]+)"')
NEXT = re.compile(r'href="\?[^"]*after=([^"&]+)"')


def rows(response):
    assert response.status_code == 200
    return ROW.findall(response.text)


@pytest.fixture
def desk(client, dispatcher):
    client.force_login(dispatcher)
    return client


def _log_varied(dispatcher, technician, count, *, start=0):
    """Calls like a real board: some dispatched, some with products, deadlines spread out."""
    now = timezone.now()
    calls = []
    for i in range(start, start + count):
        customer = CustomerFactory(unit=dispatcher.unit)
        site = SiteFactory(customer=customer)
        product = ProductFactory(customer=customer, site=site) if i % 2 else None
        call = log_call(dispatcher=dispatcher, site=site, product=product, received_at=now - dt.timedelta(minutes=i))
        if i % 3 == 0:
            services.repair_call_dispatch(user=dispatcher, call_id=call.pk, technician=technician)
        calls.append(call)
    return calls


def _board_queries(client, **params):
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(reverse("repairs:board"), params)
    assert response.status_code == 200
    return len(ctx.captured_queries), response


def test_the_board_runs_the_same_number_of_queries_for_1_and_50_rows(desk, dispatcher, technician):
    desk.get(reverse("repairs:board"))  # warm the session and content-type caches
    _log_varied(dispatcher, technician, 1)  # each change makes the next page a cache miss
    one, response = _board_queries(desk)
    assert len(rows(response)) == 1
    _log_varied(dispatcher, technician, 49, start=1)
    fifty, response = _board_queries(desk)
    assert len(rows(response)) == 50
    assert fifty == one, f"{one} queries for 1 row, {fifty} for 50"


def test_the_htmx_refresh_runs_the_same_number_of_queries_for_1_and_50_rows(desk, dispatcher, technician):
    headers = {"HX-Request": "true", "HX-Target": "board-table"}
    desk.get(reverse("repairs:board"), headers=headers)
    _log_varied(dispatcher, technician, 1)
    with CaptureQueriesContext(connection) as one:
        desk.get(reverse("repairs:board"), headers=headers)
    _log_varied(dispatcher, technician, 49, start=1)
    with CaptureQueriesContext(connection) as fifty:
        desk.get(reverse("repairs:board"), headers=headers)
    assert len(fifty.captured_queries) == len(one.captured_queries)


def test_head_office_board_query_count_is_flat_too(client, dispatcher, technician, head_office_user):
    client.force_login(head_office_user)
    client.get(reverse("repairs:board"))
    _log_varied(dispatcher, technician, 1)
    one, _ = _board_queries(client)
    _log_varied(dispatcher, technician, 30, start=1)
    many, response = _board_queries(client)
    assert len(rows(response)) == 31
    assert many == one


def _expected_order(calls):
    fresh = RepairCall.objects.filter(pk__in=[c.pk for c in calls], status__in=RepairCall.OPEN)
    return [c.number for c in sorted(fresh, key=lambda c: (c.status == RepairCall.Status.ON_SITE, c.attend_by, c.pk))]


def test_keyset_pages_cover_every_open_call_once_in_order(desk, dispatcher, technician):
    now = timezone.now()
    # Groups of calls received at the same moment share a deadline: the id breaks the tie.
    calls = [log_call(dispatcher=dispatcher, received_at=now - dt.timedelta(minutes=i % 7)) for i in range(120)]
    for call in calls[::12]:
        services.repair_call_dispatch(user=dispatcher, call_id=call.pk, technician=technician)
        services.repair_call_record_arrival(user=technician, call_id=call.pk)
    services.repair_call_cancel(user=dispatcher, call_id=calls[5].pk, reason="Duplicate")

    seen, after, pages = [], None, 0
    while True:
        response = desk.get(reverse("repairs:board"), {"after": after} if after else {})
        page = rows(response)
        assert len(page) <= BOARD_PAGE_SIZE
        seen += page
        pages += 1
        found = NEXT.search(response.text)
        if not found:
            break
        after = found.group(1)
        assert pages < 10, "pagination does not end"
    expected = _expected_order(calls)
    assert len(expected) == 119
    assert len(seen) == len(set(seen)), "a call appeared on two pages"
    assert seen == expected
    assert pages == 3


def test_the_next_page_keeps_the_filters(desk, dispatcher, suburban):
    for _ in range(BOARD_PAGE_SIZE + 3):
        log_call(dispatcher=dispatcher, zone=suburban)
    log_call(dispatcher=dispatcher)
    first = desk.get(reverse("repairs:board"), {"zone": suburban.pk})
    after = NEXT.search(first.text).group(1)
    second = desk.get(reverse("repairs:board"), {"zone": suburban.pk, "after": after})
    assert len(rows(first)) == BOARD_PAGE_SIZE and len(rows(second)) == 3
    assert f"zone={suburban.pk}" in NEXT.search(first.text).group(0)


@pytest.mark.parametrize("cursor", ["garbage", "1_2", "a_b_c", "0_99999999999999999999999_1", "", "0_-5_x", "_"])
def test_a_garbage_cursor_shows_the_first_page(desk, dispatcher, cursor):
    calls = [log_call(dispatcher=dispatcher) for _ in range(3)]
    assert rows(desk.get(reverse("repairs:board"), {"after": cursor})) == [c.number for c in calls]


def test_overdue_calls_come_first_then_by_deadline_and_calls_on_site_last(desk, dispatcher, technician):
    now = timezone.now()
    later = log_call(dispatcher=dispatcher)  # due in six hours
    on_site = log_call(dispatcher=dispatcher, received_at=now - dt.timedelta(hours=5, minutes=50), now=now)
    services.repair_call_dispatch(user=dispatcher, call_id=on_site.pk, technician=technician)
    services.repair_call_record_arrival(user=technician, call_id=on_site.pk)
    soon = log_call(dispatcher=dispatcher, received_at=now - dt.timedelta(hours=5, minutes=30), now=now)
    received = now - dt.timedelta(hours=7)
    overdue = log_call(dispatcher=dispatcher, received_at=received, now=received)
    closed = log_call(dispatcher=dispatcher, received_at=received, now=received)
    services.repair_call_cancel(user=dispatcher, call_id=closed.pk, reason="Duplicate")

    response = desk.get(reverse("repairs:board"))
    assert rows(response) == [overdue.number, soon.number, later.number, on_site.number]
    row_of = {n: line for line in response.text.splitlines() for n in [*ROW.findall(line)]}
    assert "row-overdue" in row_of[overdue.number]
    assert "row-at-risk" in row_of[soon.number]
    assert "row-overdue" not in row_of[later.number] and "row-at-risk" not in row_of[later.number]


@pytest.fixture
def board_calls(dispatcher, technician, technician_b, suburban, unit):
    site = SiteFactory(customer=CustomerFactory(unit=unit, name="Pudong Steel Works", phone="021-3333-7777"))
    product = ProductFactory(customer=site.customer, site=site, serial_number="SX-9000-ABC")
    steel = log_call(dispatcher=dispatcher, site=site, product=product, contact_phone="139-1234-5678")
    suburb = log_call(dispatcher=dispatcher, zone=suburban)
    services.repair_call_dispatch(user=dispatcher, call_id=suburb.pk, technician=technician)
    other = log_call(dispatcher=dispatcher)
    services.repair_call_dispatch(user=dispatcher, call_id=other.pk, technician=technician_b)
    return {"steel": steel, "suburb": suburb, "other": other}


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"q": "Pudong Steel"}, ["steel"]),
        ({"q": "pudong steel works"}, ["steel"]),
        ({"q": "3333-7777"}, ["steel"]),
        ({"q": "1234-5678"}, ["steel"]),
        ({"q": "SX-9000-ABC"}, ["steel"]),
        ({"q": "sx-9000-abc"}, ["steel"]),
        ({"q": "no such thing"}, []),
        ({"status": "dispatched"}, ["suburb", "other"]),
        ({"status": "logged"}, ["steel"]),
    ],
)
def test_search_and_filters(desk, board_calls, params, expected):
    assert sorted(rows(desk.get(reverse("repairs:board"), params))) == sorted(board_calls[k].number for k in expected)


def test_search_by_call_number(desk, board_calls):
    number = board_calls["suburb"].number
    assert rows(desk.get(reverse("repairs:board"), {"q": number})) == [number]
    assert rows(desk.get(reverse("repairs:board"), {"q": number.lower()})) == [number]


def test_filter_by_zone_and_technician(desk, board_calls, suburban, technician, technician_b):
    assert rows(desk.get(reverse("repairs:board"), {"zone": suburban.pk})) == [board_calls["suburb"].number]
    assert rows(desk.get(reverse("repairs:board"), {"technician": technician.pk})) == [board_calls["suburb"].number]
    assert rows(desk.get(reverse("repairs:board"), {"technician": technician_b.pk})) == [board_calls["other"].number]


@pytest.mark.parametrize(
    "params", [{"zone": "abc"}, {"technician": "999999"}, {"status": "closed"}, {"status": "bogus"}, {"q": "x" * 500}]
)
def test_bad_filter_values_do_not_break_the_board(desk, board_calls, params):
    response = desk.get(reverse("repairs:board"), params)
    assert response.status_code == 200


def test_the_htmx_refresh_returns_only_the_table(desk, board_calls):
    response = desk.get(reverse("repairs:board"), headers={"HX-Request": "true", "HX-Target": "board-table"})
    assert response.status_code == 200
    assert '<table class="table table-sm align-middle" id="board">' in response.text
    assert "<html" not in response.text and "<nav" not in response.text.split("</table>")[0]
    assert 'id="board-filters"' not in response.text
    assert set(rows(response)) == {c.number for c in board_calls.values()}


def test_a_full_page_for_other_htmx_targets(desk, board_calls):
    response = desk.get(reverse("repairs:board"), headers={"HX-Request": "true", "HX-Target": "main"})
    assert "<html" in response.text and 'id="board-filters"' in response.text


def test_the_board_refreshes_itself(desk, board_calls):
    """Told by the push stream, or polling without it (static/js/board.js; the browser tests drive both)."""
    page = desk.get(reverse("repairs:board")).text
    assert 'id="board-table"' in page and "js/board.js" in page
    assert f'data-stream-url="{reverse("repairs:board_stream")}"' in page
    assert 'data-poll-seconds="10"' in page


def test_the_htmx_refresh_filters_without_reading_the_filter_bar_options(desk, board_calls, suburban, technician):
    headers = {"HX-Request": "true", "HX-Target": "board-table"}
    with CaptureQueriesContext(connection) as queries:
        response = desk.get(reverse("repairs:board"), {"zone": suburban.pk}, headers=headers)
    assert rows(response) == [board_calls["suburb"].number]
    sql = " ".join(q["sql"] for q in queries.captured_queries)
    assert 'SELECT "repairs_zone"."id" AS "pk"' not in sql  # the zone options were not read
    assert 'SELECT "servicedesk_user"."id" AS "pk"' not in sql  # nor the technician options


def test_the_filter_bar_lists_the_units_technicians_and_keeps_the_choice(desk, board_calls, technician, technician_b):
    page = desk.get(reverse("repairs:board"), {"technician": technician.pk}).text
    bar = page[page.index('id="board-filters"') : page.index("</form>", page.index('id="board-filters"'))]
    assert f'<option value="{technician.pk}" selected>{technician}</option>' in bar
    assert f'<option value="{technician_b.pk}">{technician_b}</option>' in bar
    assert '<select name="technician" class="form-select form-select-sm" id="id_technician">' in bar


def test_the_filter_options_are_read_once_a_minute_per_unit(client, desk, board_calls, technician, other_dispatcher):
    def option_reads(c):
        with CaptureQueriesContext(connection) as queries:
            page = c.get(reverse("repairs:board")).text
        return page, sum('AS "pk"' in q["sql"] for q in queries.captured_queries)

    page, reads = option_reads(desk)
    # Zones, the unit's technicians for the filter bar, and for the rows' dispatch pickers (issue 16).
    assert reads == 3 and str(technician) in page
    page, reads = option_reads(desk)
    assert reads == 0 and str(technician) in page
    client.force_login(other_dispatcher)  # another unit: its own technicians, read for it (bar and pickers)
    page, reads = option_reads(client)
    assert reads == 2 and str(technician) not in page.split('id="board-filters"')[1].split("</form>")[0]


def test_names_on_the_board_and_in_its_filter_bar_are_escaped(desk, dispatcher, unit):
    """The rows and the filter bar are written out in Python (presenters, PlainSelect), not by the template."""
    from servicedesk.roles import Role
    from tests.factories import UserFactory

    markup = '<img src=x onerror="alert(1)">&'
    tech = UserFactory(unit=unit, roles=[Role.TECHNICIAN], first_name=markup)
    site = SiteFactory(customer=CustomerFactory(unit=unit, name=markup), address=markup)
    call = log_call(dispatcher=dispatcher, site=site)
    services.repair_call_dispatch(user=dispatcher, call_id=call.pk, technician=tech)
    page = desk.get(reverse("repairs:board")).text
    assert "<img" not in page and 'onerror="alert' not in page
    escaped = "&lt;img src=x onerror=&quot;alert(1)&quot;&gt;&amp;"
    table = page[page.index('id="board"') :]
    assert table.count(escaped) >= 3  # customer, address, technician
    bar = page[page.index('id="board-filters"') : page.index("</form>", page.index('id="board-filters"'))]
    assert escaped in bar  # the technician's option


def test_every_board_column_has_its_field_on_the_row():
    """BOARD_COLUMNS and BoardRow are read together positionally: the names must line up."""
    from repairs.selectors import BOARD_COLUMNS, BoardRow

    columns = (*BOARD_COLUMNS, "unit__name")
    assert [column.replace("__", "_") for column in columns] == list(BoardRow._fields[: len(columns)])
    assert BoardRow._fields[len(columns) :] == ("attended",)
