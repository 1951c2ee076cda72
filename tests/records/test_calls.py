"""The call history: every state, scoped like the board, filters that combine, keyset pages, the search."""

import datetime as dt
import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from records import search
from records.selectors import call_history
from repairs import services
from repairs.models import RepairCall
from tests.conftest import is_postgres
from tests.factories import CustomerFactory, ProductFactory, SiteFactory, log_call

ROW = re.compile(r'data-call="([^"]+)"')
NEXT = re.compile(r'href="(\?[^"]*after=[^"]+)"')


def numbers(response):
    assert response.status_code == 200
    return ROW.findall(response.text)


def page(client, **params):
    return client.get(reverse("records:calls"), {"all": "1", **params})


@pytest.fixture
def desk(client, dispatcher):
    client.force_login(dispatcher)
    return client


def _call(dispatcher, *, minutes_ago=0, customer_name=None, phone="021-5555-0000", problem="Does not start", **kw):
    customer = CustomerFactory(unit=dispatcher.unit, **({"name": customer_name} if customer_name else {}))
    site = SiteFactory(customer=customer)
    return log_call(
        dispatcher=dispatcher,
        site=site,
        received_at=timezone.now() - dt.timedelta(minutes=minutes_ago),
        contact_phone=phone,
        problem=problem,
        **kw,
    )


def test_closed_and_cancelled_calls_are_listed_too(desk, dispatcher, technician):
    open_call = _call(dispatcher, minutes_ago=3)
    cancelled = _call(dispatcher, minutes_ago=2)
    services.repair_call_cancel(user=dispatcher, call_id=cancelled.pk, reason="Customer fixed it")
    assert numbers(page(desk)) == [cancelled.number, open_call.number]  # newest first
    assert numbers(page(desk, status="cancelled")) == [cancelled.number]


def test_another_units_calls_are_not_listed_and_head_office_sees_all(
    client, dispatcher, other_dispatcher, head_office_user
):
    mine = _call(dispatcher)
    theirs = _call(other_dispatcher)
    client.force_login(dispatcher)
    assert numbers(page(client)) == [mine.number]
    client.force_login(head_office_user)
    assert set(numbers(page(client))) == {mine.number, theirs.number}
    assert numbers(page(client, unit=other_dispatcher.unit_id)) == [theirs.number]


def test_a_user_without_a_unit_sees_no_call(client, dispatcher):
    from servicedesk.roles import Role
    from tests.factories import UserFactory

    _call(dispatcher)
    client.force_login(UserFactory(username="nobody", unit=None, roles=[Role.DISPATCHER]))
    assert numbers(page(client)) == []


def test_the_logged_late_filter_finds_calls_that_reached_the_desk_after_their_deadline(desk, dispatcher):
    late = _call(dispatcher, minutes_ago=60 * 24)  # a letter read the next morning (DOMAIN 1): logged late
    _call(dispatcher, minutes_ago=10)
    assert RepairCall.objects.get(pk=late.pk).logged_late
    assert numbers(page(desk, logged_late="on")) == [late.number]
    assert len(numbers(page(desk))) == 2


def test_filters_combine(desk, dispatcher, technician):
    late = _call(dispatcher, minutes_ago=60)
    # Its deadline passed before the technician came (set directly: a call cannot be logged already late).
    RepairCall.objects.filter(pk=late.pk).update(attend_by=timezone.now() - dt.timedelta(minutes=5))
    services.repair_call_dispatch(user=dispatcher, call_id=late.pk, technician=technician)
    services.repair_call_record_arrival(user=technician, call_id=late.pk)
    on_time = _call(dispatcher, minutes_ago=30)
    services.repair_call_dispatch(user=dispatcher, call_id=on_time.pk, technician=technician)
    services.repair_call_record_arrival(user=technician, call_id=on_time.pk)
    _call(dispatcher, minutes_ago=10)
    assert numbers(page(desk, attended="late")) == [late.number]
    assert numbers(page(desk, attended="on_time", technician=technician.pk)) == [on_time.number]
    assert numbers(page(desk, attended="late", status="logged")) == []
    # The calls were received up to an hour ago: just after local midnight that is yesterday too.
    first_day = timezone.localtime(timezone.now() - dt.timedelta(minutes=60)).date().isoformat()
    today = timezone.localdate().isoformat()
    assert len(numbers(page(desk, date_from=first_day, date_to=today))) == 3


def test_a_date_out_of_range_is_refused_with_a_message_not_a_500(desk, dispatcher):
    _call(dispatcher)
    response = page(desk, date_from="0001-01-01")
    assert response.status_code == 200
    assert "1900-01-01" in response.text
    assert numbers(response) == []
    response = page(desk, date_from="2026-13-45")
    assert response.status_code == 200


def test_keyset_pages_walk_every_call_once(desk, dispatcher):
    calls = [_call(dispatcher, minutes_ago=i) for i in range(7)]
    seen, url = [], None
    for _ in range(10):
        response = desk.get(reverse("records:calls") + (url or "?all=1"))
        got = numbers(response)
        seen += got
        found = NEXT.search(response.text)
        if not found:
            break
        url = found.group(1).replace("&amp;", "&")
    assert seen == [c.number for c in calls]


def test_keyset_pages_with_a_small_page(dispatcher):
    calls = [_call(dispatcher, minutes_ago=i) for i in range(5)]
    first = call_history(user=dispatcher, filters={}, limit=2)
    second = call_history(user=dispatcher, filters={}, cursor=first.next_cursor, limit=2)
    third = call_history(user=dispatcher, filters={}, cursor=second.next_cursor, limit=2)
    assert [r.number for r in first.rows + second.rows + third.rows] == [c.number for c in calls]
    assert third.next_cursor is None


def _queries(client, **params):
    with CaptureQueriesContext(connection) as ctx:
        response = page(client, **params)
    assert response.status_code == 200
    return len(ctx.captured_queries)


@pytest.mark.parametrize("params", [{}, {"q": "Wang"}, {"status": "logged", "has_complaint": "on", "carried_in": "on"}])
def test_the_list_runs_the_same_number_of_queries_for_5_and_40_rows(desk, dispatcher, params):
    for i in range(5):
        _call(dispatcher, minutes_ago=i)
    page(desk, **params)  # warm the session and the filter options
    few = _queries(desk, **params)
    for i in range(5, 40):
        _call(dispatcher, minutes_ago=i)
    many = _queries(desk, **params)
    assert many == few


def test_the_list_reads_at_most_three_queries_beyond_session_and_user(desk, dispatcher):
    for i in range(5):
        _call(dispatcher, minutes_ago=i)
    page(desk, q="Wang")
    with CaptureQueriesContext(connection) as ctx:
        call_history(user=dispatcher, filters={"q": "Wang"})
    assert len(ctx.captured_queries) <= 3
    with CaptureQueriesContext(connection) as ctx:
        call_history(user=dispatcher, filters={})
    assert len(ctx.captured_queries) == 1


# --- search ------------------------------------------------------------------------------------------


def _found(user, q):
    return [r.number for r in call_history(user=user, filters={"q": q}).rows]


def test_search_finds_chinese_words_of_the_problem_every_term_must_match(dispatcher):
    both = _call(dispatcher, problem="打印机卡纸，无法打印", minutes_ago=3)
    one = _call(dispatcher, problem="打印机噪音很大", minutes_ago=2)
    _call(dispatcher, problem="漏水", minutes_ago=1)
    assert _found(dispatcher, "打印机 卡纸") == [both.number]
    assert _found(dispatcher, "打印机") == [one.number, both.number]
    assert _found(dispatcher, "卡纸") == [both.number]  # a two-character term, too short for a trigram
    assert _found(dispatcher, "纸") == [both.number]


def test_terms_may_match_different_fields(dispatcher):
    call = _call(dispatcher, customer_name="华东精密机械有限公司", problem="打印模糊")
    _call(dispatcher, customer_name="华东精密机械有限公司", problem="漏水")
    assert _found(dispatcher, "华东精密 模糊") == [call.number]


def test_search_by_phone_ignores_spaces_and_dashes(dispatcher):
    call = _call(dispatcher, phone="138-1234-5678")
    _call(dispatcher, phone="139 0000 1111")
    for typed in ("13812345678", "138 1234 5678", "138-1234-5678", "1234-5678", "(138) 1234 5678"):
        assert _found(dispatcher, typed) == [call.number], typed


def test_search_by_customer_phone_number_and_serial_and_contact(dispatcher):
    customer = CustomerFactory(unit=dispatcher.unit, phone="0512 6666 7777")
    site = SiteFactory(customer=customer)
    product = ProductFactory(customer=customer, serial_number="KX9-000123")
    call = log_call(dispatcher=dispatcher, site=site, product=product, contact_name="李明")
    _call(dispatcher)
    assert _found(dispatcher, "0512-6666-7777") == [call.number]
    assert _found(dispatcher, "KX9-000123") == [call.number]
    assert _found(dispatcher, "kx9-0001") == [call.number]
    assert _found(dispatcher, call.number) == [call.number]
    assert _found(dispatcher, call.number.lower()) == [call.number]
    assert _found(dispatcher, "李明") == [call.number]


def test_exact_number_serial_or_phone_ranks_first(dispatcher):
    exact = _call(dispatcher, phone="021-8888-1234", minutes_ago=30)
    newer = _call(dispatcher, phone="021-8888-12345", minutes_ago=1)  # contains the digits, is not them
    assert _found(dispatcher, "021 8888 1234") == [exact.number, newer.number]
    rows = call_history(user=dispatcher, filters={"q": "02188881234"}).rows
    assert [r.part for r in rows] == [0, 1]


def test_a_whole_call_number_finds_that_call_alone_and_a_part_of_it_finds_every_mention(dispatcher):
    first = _call(dispatcher, minutes_ago=10)
    revisit = _call(dispatcher, problem=f"复修 {first.number}", minutes_ago=1)
    page = call_history(user=dispatcher, filters={"q": first.number.lower()})
    assert [r.number for r in page.rows] == [first.number] and page.next_cursor is None
    digits = first.number.rsplit("-", 1)[1]
    assert _found(dispatcher, digits) == [revisit.number, first.number]
    # A number of the right shape that no call has is looked for in the text like any other term.
    missing = first.number[:-6] + "999999"
    mention = _call(dispatcher, problem=f"见 {missing}")
    assert _found(dispatcher, missing) == [mention.number]


def test_search_of_another_units_call_finds_nothing(dispatcher, other_dispatcher):
    theirs = _call(other_dispatcher, problem="打印机卡纸")
    assert _found(dispatcher, "打印机") == []
    assert _found(dispatcher, theirs.number) == []


def test_search_wildcards_are_literal(dispatcher):
    _call(dispatcher, problem="does not start")
    assert _found(dispatcher, "%") == []
    assert _found(dispatcher, "_") == []


def test_parse_keeps_a_phone_number_with_spaces_as_one_term():
    assert search.parse("021 1234 5678") == [search.Term(text="021 1234 5678", digits="02112345678")]
    assert [t.text for t in search.parse(" 打印机  卡纸 ")] == ["打印机", "卡纸"]
    assert not search.parse("卡纸")[0].indexed


@pytest.mark.postgres
def test_search_can_use_the_trigram_index(dispatcher, head_office_user):
    """The query's expression is the index's (a few rows here: the 1M-row plan is in bench/records.py)."""
    if not is_postgres():
        pytest.skip("pg_trgm is PostgreSQL's")
    for i in range(3):
        _call(dispatcher, problem=f"打印机卡纸 {i}", minutes_ago=i)
    with CaptureQueriesContext(connection) as ctx:
        call_history(user=head_office_user, filters={"q": "打印机 卡纸"})
    sql = [q["sql"] for q in ctx.captured_queries if "repairs_repaircall" in q["sql"] and "LIKE" in q["sql"]][-1]
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute("SET LOCAL enable_indexscan = off")
        cursor.execute("EXPLAIN " + sql)
        plan = "\n".join(row[0] for row in cursor.fetchall())
    assert "call_search_trgm_idx" in plan, plan


def test_the_call_history_exports_what_it_shows_with_its_filters_and_search(desk, dispatcher):
    import csv
    import io

    wanted = _call(dispatcher, problem="打印机 卡纸 严重")
    _call(dispatcher, problem="Does not start")
    page_html = desk.get(reverse("records:calls"), {"q": "卡纸"}).text
    assert reverse("export", args=["calls", "csv"]) + "?q=" in page_html
    response = desk.get(reverse("export", args=["calls", "csv"]), {"q": "卡纸"})
    assert response.status_code == 200
    text = b"".join(response.streaming_content if response.streaming else [response.content]).decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(text)))
    assert [row[0] for row in rows[1:]] == [wanted.number]
