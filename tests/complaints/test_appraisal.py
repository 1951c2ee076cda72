"""Clause 二十三: the monthly appraisal's figures against values worked out by hand."""

import csv
import datetime as dt
import io

import pytest
from django.urls import reverse
from openpyxl import load_workbook
from pypdf import PdfReader

from complaints import appraisal, services
from complaints.models import TechnicianMonth
from repairs import services as repair_services
from servicedesk.roles import Role
from tests.factories import UserFactory

from .conftest import call_at, card_of, local

MARCH = dt.date(2026, 3, 1)
HOURS = dt.timedelta(hours=1)


@pytest.fixture
def tech_b(unit):
    return UserFactory(username="tech-b", first_name="Bai", unit=unit, roles=[Role.TECHNICIAN])


@pytest.fixture
def tech_c(unit):
    return UserFactory(username="tech-c", first_name="Chen", unit=unit, roles=[Role.TECHNICIAN])


@pytest.fixture
def march(clock, dispatcher, technician, tech_b, tech_c, other_dispatcher, other_technician):
    """Technician A (“tech”): 4 calls handled, 3 in time; B: 1 call never attended; C: nothing."""
    a1 = call_at(clock, dispatcher=dispatcher, at=local(2026, 3, 3, 9), technician=technician, arrive_after=2 * HOURS)
    a2 = call_at(
        clock,
        dispatcher=dispatcher,
        at=local(2026, 3, 5, 10),
        technician=technician,
        arrive_after=dt.timedelta(hours=5, minutes=59),
    )
    a3 = call_at(clock, dispatcher=dispatcher, at=local(2026, 3, 20, 9), technician=technician, arrive_after=7 * HOURS)
    a4 = call_at(clock, dispatcher=dispatcher, at=local(2026, 3, 21, 9), technician=technician)
    clock.set(local(2026, 3, 21, 9, 30))
    repair_services.repair_call_cancel(user=dispatcher, call_id=a4.pk, reason="customer fixed it")
    clock.now = None
    # Late on the last evening of March, local time (still March in Shanghai, 15:30 UTC).
    a5 = call_at(clock, dispatcher=dispatcher, at=local(2026, 3, 31, 23, 30), technician=technician, arrive_after=HOURS)
    call_at(clock, dispatcher=dispatcher, at=local(2026, 4, 1, 0, 30), technician=technician, arrive_after=HOURS)
    call_at(clock, dispatcher=dispatcher, at=local(2026, 2, 27, 9), technician=technician, arrive_after=HOURS)
    b1 = call_at(clock, dispatcher=dispatcher, at=local(2026, 3, 10, 9), technician=tech_b)
    call_at(
        clock, dispatcher=other_dispatcher, at=local(2026, 3, 10, 9), technician=other_technician, arrive_after=HOURS
    )

    services.survey_cards_issue(now=local(2026, 4, 2, 0, 20), since=dt.date(2026, 2, 1))
    when = local(2026, 3, 25, 12)

    def answer(call, **kwargs):
        card = card_of(call)
        services.survey_card_answer_online(
            card_id=card.pk, token=card.token, answer=services.SurveyAnswer(**kwargs), now=when
        )

    answer(a1, attitude=5, technique=4, arrival=3, follow_through=2, opinion_kind="complaint", opinion_text="late")
    answer(a2, attitude=3, technique=4, arrival=5)
    answer(a4, attitude=1, technique=1, arrival=1, follow_through=1)  # a cancelled call: not A's work
    answer(a3, opinion_kind="suggestion", opinion_text="more parts in the van")  # text only: no rating
    services.customer_opinion_record(
        unit=dispatcher.unit,
        customer=b1.customer,
        call=b1,
        technician=tech_b,
        kind="complaint",
        source="phone",
        text="never came",
        received_at=local(2026, 3, 15, 10),
    )
    return {"a": technician, "b": tech_b, "c": tech_c, "a5": a5}


def test_each_technicians_month_matches_the_hand_computed_figures(march, unit):
    rows = {r.technician_id: r for r in appraisal.appraisal_for_month(unit_id=unit.pk, month=MARCH)}
    a, b, c = rows[march["a"].pk], rows[march["b"].pk], rows[march["c"].pk]

    assert (a.calls_handled, a.calls_due, a.attended_in_time) == (4, 4, 3)
    assert a.in_time_share == pytest.approx(0.75)
    assert (a.cards_issued, a.cards_answered) == (4, 3)
    assert a.response_rate == pytest.approx(0.75)
    assert (a.avg_attitude, a.n_attitude) == (pytest.approx(4.0), 2)
    assert (a.avg_technique, a.n_technique) == (pytest.approx(4.0), 2)
    assert (a.avg_arrival, a.n_arrival) == (pytest.approx(4.0), 2)
    assert (a.avg_follow_through, a.n_follow_through) == (pytest.approx(2.0), 1)
    assert a.complaints == 1
    assert a.penalties is None

    assert (b.calls_handled, b.calls_due, b.attended_in_time, b.in_time_share) == (1, 1, 0, 0.0)
    assert (b.cards_issued, b.cards_answered, b.response_rate) == (1, 0, 0.0)
    assert (b.avg_attitude, b.n_attitude) == (None, 0)
    assert b.complaints == 1

    assert (c.calls_handled, c.in_time_share, c.response_rate, c.complaints) == (0, None, None, 0)
    assert set(rows) == {march["a"].pk, march["b"].pk, march["c"].pk}  # the other unit's technician is not here


def test_a_call_not_yet_due_does_not_count_against_the_technician(march, unit):
    # At 10:00 on 10 March, B's call of 09:00 still has until 15:00: handled, but not yet due.
    rows = appraisal.appraisal_for_month(unit_id=unit.pk, month=MARCH, now=local(2026, 3, 10, 10))
    b = next(r for r in rows if r.technician_id == march["b"].pk)
    assert (b.calls_handled, b.calls_due, b.in_time_share) == (1, 0, None)


def test_the_trend_gives_twelve_months_of_unit_figures(march, unit):
    trend = appraisal.appraisal_trend(unit_id=unit.pk, month=MARCH)
    assert next(m.month for m in trend) == dt.date(2025, 4, 1)
    assert [m.month for m in trend][-1] == MARCH
    assert len(trend) == 12
    feb, mar = trend[-2], trend[-1]
    assert (feb.calls_handled, feb.attended_in_time) == (1, 1)
    assert (mar.calls_handled, mar.calls_due, mar.attended_in_time) == (5, 5, 3)
    assert mar.in_time_share == pytest.approx(0.6)
    assert (mar.cards_issued, mar.cards_answered) == (5, 3)
    assert mar.avg_attitude == pytest.approx(4.0)
    assert mar.complaints == 2
    assert trend[0].calls_handled == 0 and trend[0].avg_attitude is None
    # The page adds up the month's technician rows instead of counting the month twice: same figures.
    rows = appraisal.appraisal_for_month(unit_id=unit.pk, month=MARCH)
    summed = appraisal.appraisal_trend(unit_id=unit.pk, month=MARCH, month_rows=rows)[-1]
    for name in ("calls_handled", "calls_due", "attended_in_time", "cards_issued", "cards_answered", "complaints"):
        assert getattr(summed, name) == getattr(mar, name), name
    assert summed.avg_attitude == pytest.approx(mar.avg_attitude)
    assert summed.avg_follow_through == pytest.approx(mar.avg_follow_through)


def test_rows_sort_by_any_criterion_with_missing_figures_last(march, unit):
    rows = appraisal.appraisal_for_month(unit_id=unit.pk, month=MARCH)
    ordered, sort = appraisal.sort_rows(rows, "-avg_attitude")
    assert sort == "-avg_attitude"
    assert ordered[0].technician_id == march["a"].pk
    ordered, sort = appraisal.sort_rows(rows, "-in_time_share")
    assert [r.technician_id for r in ordered] == [march["a"].pk, march["b"].pk, march["c"].pk]
    assert appraisal.sort_rows(rows, "__class__")[1] == "technician"


URL = reverse("complaints:appraisal")


def test_the_page_shows_the_table_and_a_chart_per_criterion(client, supervisor, march):
    client.force_login(supervisor)
    page = client.get(URL, {"month": "2026-03", "sort": "-calls_handled"})
    assert page.status_code == 200
    text = page.text
    assert text.index(str(march["a"])) < text.index(str(march["b"]))
    assert "75%" in text and "4.00" in text
    assert text.count("<svg") == len(appraisal.CRITERIA)
    assert "<script>" not in text and " style=" not in text


def test_a_bad_month_gets_a_form_error(client, supervisor, march):
    client.force_login(supervisor)
    assert client.get(URL, {"month": "2026-13"}).status_code == 400
    assert client.get(URL, {"month": "1800-01"}).status_code == 400


def test_export_csv_has_the_same_figures(client, supervisor, march):
    client.force_login(supervisor)
    response = client.get(reverse("complaints:appraisal_export", args=["csv"]), {"month": "2026-03"})
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    header, body = rows[0], {r[0]: dict(zip(rows[0], r, strict=True)) for r in rows[1:]}
    assert header[0] == "Technician"
    a = body[str(march["a"])]
    assert a["Calls handled"] == "4"
    assert a["Share within deadline"] == "0.75"
    assert a["Attitude"] == "4.0"
    assert a["Penalties"] == "—"


def test_export_excel_opens_with_the_figures(client, supervisor, march):
    client.force_login(supervisor)
    response = client.get(reverse("complaints:appraisal_export", args=["xlsx"]), {"month": "2026-03"})
    assert response.status_code == 200
    sheet = load_workbook(io.BytesIO(response.content)).active
    values = list(sheet.values)
    assert values[0][0] == "Technician"
    a = next(v for v in values[1:] if v[0] == str(march["a"]))
    assert a[1] == 4 and a[4] == pytest.approx(0.75)


def test_export_pdf_is_printable_in_chinese(client, supervisor, march):
    client.force_login(supervisor)
    response = client.get(reverse("complaints:appraisal_export", args=["pdf"]), {"month": "2026-03"})
    assert response.status_code == 200
    text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(response.content)).pages)
    assert "技术员月绩效考核" in text
    assert str(march["a"]) in text
    # The charts: each technician's bar is labelled with their name, beside the table's row.
    assert "按时到达率" in text and "平均评分" in text
    assert text.count(str(march["a"])) >= 3


def test_an_unknown_export_format_is_not_found(client, supervisor, march):
    client.force_login(supervisor)
    assert client.get(reverse("complaints:appraisal_export", args=["exe"])).status_code == 404


def test_the_page_runs_a_fixed_number_of_queries(client, supervisor, march, unit, django_assert_max_num_queries):
    client.force_login(supervisor)
    with django_assert_max_num_queries(16):
        client.get(URL, {"month": "2026-03"})
    for n in range(10):
        UserFactory(username=f"extra-{n}", unit=unit, roles=[Role.TECHNICIAN])
    with django_assert_max_num_queries(16):
        page = client.get(URL, {"month": "2026-03"})
    assert "extra-9" in page.text or page.text.count("<tr>") >= 13


def test_the_month_end_record_gives_the_same_figures_as_the_live_count(march, unit):
    live = {r.technician_id: r for r in appraisal.appraisal_for_month(unit_id=unit.pk, month=MARCH)}
    live_trend = appraisal.appraisal_trend(unit_id=unit.pk, month=MARCH)

    written = services.appraisal_months_record(now=local(2026, 4, 2, 1, 10))
    assert written == 4  # March: A, B and the other unit's technician; February: A
    assert services.appraisal_months_record(now=local(2026, 4, 2, 1, 10)) == written  # a rerun changes nothing
    assert TechnicianMonth.objects.filter(month=MARCH).count() == 3

    stored = {r.technician_id: r for r in appraisal.appraisal_for_month(unit_id=unit.pk, month=MARCH)}
    for technician_id, row in live.items():
        for name in (
            "calls_handled",
            "calls_due",
            "attended_in_time",
            "cards_issued",
            "cards_answered",
            "n_attitude",
            "n_follow_through",
            "complaints",
            "in_time_share",
            "response_rate",
        ):
            assert getattr(stored[technician_id], name) == getattr(row, name), name
        for name in ("avg_attitude", "avg_technique", "avg_arrival", "avg_follow_through"):
            assert getattr(stored[technician_id], name) == pytest.approx(getattr(row, name)), name
    stored_trend = appraisal.appraisal_trend(unit_id=unit.pk, month=MARCH)
    assert [m.calls_handled for m in stored_trend] == [m.calls_handled for m in live_trend]
    assert stored_trend[-1].avg_attitude == pytest.approx(live_trend[-1].avg_attitude)


def test_a_card_answered_after_month_end_is_counted_by_the_next_nights_run(march, unit, dispatcher):
    services.appraisal_months_record(now=local(2026, 4, 2, 1, 10))
    card = card_of(march["a5"])
    services.survey_card_answer_on_paper(
        user=dispatcher, card_id=card.pk, answer=services.SurveyAnswer(attitude=1), now=local(2026, 4, 10)
    )
    services.appraisal_months_record(now=local(2026, 4, 11, 1, 10))
    a = next(r for r in appraisal.appraisal_for_month(unit_id=unit.pk, month=MARCH) if r.technician_id == march["a"].pk)
    assert (a.n_attitude, a.avg_attitude) == (3, pytest.approx(3.0))


def test_the_month_end_job_is_on_the_beat_schedule():
    from servicedesk.schedule import beat_schedule

    assert beat_schedule()["complaints.record-appraisal-months"]["task"] == "complaints.tasks.record_appraisal_months"


def test_arrivals_typed_by_the_desk_are_counted_apart_in_the_appraisal(clock, dispatcher, supervisor, technician):
    """Issue 14: a typed arrival still counts for the deadline, and the appraisal shows how many were typed."""
    tapped = call_at(clock, dispatcher=dispatcher, at=local(2026, 3, 3, 9), technician=technician, arrive_after=HOURS)
    typed = call_at(clock, dispatcher=dispatcher, at=local(2026, 3, 4, 9), technician=technician)
    clock.set(local(2026, 3, 4, 12))
    repair_services.repair_call_enter_arrival(
        user=supervisor, call_id=typed.pk, arrived_at=local(2026, 3, 4, 11), reason="Phone had no signal"
    )
    clock.now = None
    assert tapped.arrival_typed is False
    row = {r.technician_id: r for r in appraisal.appraisal_for_month(unit_id=dispatcher.unit_id, month=MARCH)}[
        technician.pk
    ]
    assert (row.attended_in_time, row.arrivals_typed, row.in_time_typed) == (2, 1, 1)
    # The month-end job's stored rows keep showing them (counted from the calls).
    services.appraisal_months_record(now=local(2026, 4, 2, 1))
    stored = {r.technician_id: r for r in appraisal.appraisal_for_month(unit_id=dispatcher.unit_id, month=MARCH)}
    assert stored[technician.pk].arrivals_typed == 1
