"""Clause 二十四: every repair call of a day gets exactly one survey card, whatever runs when."""

import datetime as dt
import threading

import pytest
from django.db import connection
from django.utils import timezone

from complaints import services
from complaints.models import SurveyBatch, SurveyCard, SurveyPolicy
from servicedesk.schedule import beat_schedule
from tests.conftest import is_postgres
from tests.factories import log_call

from .conftest import call_at, local, run_for

DAY = dt.date(2026, 3, 10)


def test_every_call_of_the_day_gets_one_card_cancelled_ones_included(clock, dispatcher, technician):
    calls = [
        call_at(clock, dispatcher=dispatcher, at=local(2026, 3, 10, 0, 5)),
        call_at(clock, dispatcher=dispatcher, at=local(2026, 3, 10, 14), technician=technician),
        call_at(clock, dispatcher=dispatcher, at=local(2026, 3, 10, 23, 55), cancel=True),
    ]
    next_day = call_at(clock, dispatcher=dispatcher, at=local(2026, 3, 11, 0, 1))

    assert run_for(DAY) == 3

    cards = SurveyCard.objects.filter(survey_day=DAY)
    assert sorted(cards.values_list("call_id", flat=True)) == sorted(c.pk for c in calls)
    assert not SurveyCard.objects.filter(call=next_day).exists()  # its day is not over yet
    card = cards.get(call=calls[1])
    assert card.unit_id == dispatcher.unit_id
    assert card.customer_id == calls[1].customer_id
    assert card.status == SurveyCard.Status.ISSUED
    assert len(card.token) >= 16


def test_a_day_without_calls_creates_nothing_and_does_not_fail(db, unit):
    assert run_for(DAY) == 0
    assert not SurveyCard.objects.exists()
    assert not SurveyBatch.objects.exists()


def test_a_rerun_creates_no_second_card(clock, dispatcher):
    call = call_at(clock, dispatcher=dispatcher, at=local(2026, 3, 10, 10))
    assert run_for(DAY) == 1
    token = SurveyCard.objects.get(call=call).token

    assert run_for(DAY) == 0
    assert SurveyCard.objects.filter(call=call).count() == 1
    assert SurveyCard.objects.get(call=call).token == token  # the printed link still works


def test_a_late_run_catches_up_every_missed_day(clock, dispatcher):
    for day in (3, 4, 5, 6):
        call_at(clock, dispatcher=dispatcher, at=local(2026, 3, day, 11))

    # Beat was down from the 4th to the 7th: the run after the 6th does the 3 days it missed.
    assert run_for(dt.date(2026, 3, 3)) == 1
    assert run_for(dt.date(2026, 3, 6)) == 3
    assert sorted(SurveyCard.objects.values_list("survey_day", flat=True)) == [
        dt.date(2026, 3, d) for d in (3, 4, 5, 6)
    ]


def test_a_gap_longer_than_the_look_back_is_caught_up_with_since(clock, dispatcher):
    call_at(clock, dispatcher=dispatcher, at=local(2026, 1, 2, 11))
    assert run_for(DAY) == 0
    assert run_for(DAY, since=dt.date(2026, 1, 1)) == 1


def test_cards_of_a_unit_and_day_form_one_batch(clock, dispatcher, other_dispatcher):
    for hour in (9, 10, 11):
        call_at(clock, dispatcher=dispatcher, at=local(2026, 3, 10, hour))
    call_at(clock, dispatcher=other_dispatcher, at=local(2026, 3, 10, 9))
    call_at(clock, dispatcher=dispatcher, at=local(2026, 3, 9, 9))

    run_for(DAY, batch_size=2)  # several insert batches still land in one printed batch per unit and day

    batches = {(b.unit_id, b.day): b.cards.count() for b in SurveyBatch.objects.all()}
    assert batches == {
        (dispatcher.unit_id, DAY): 3,
        (other_dispatcher.unit_id, DAY): 1,
        (dispatcher.unit_id, dt.date(2026, 3, 9)): 1,
    }


def test_the_link_lives_as_long_as_the_units_policy_says(clock, dispatcher, other_dispatcher):
    SurveyPolicy.objects.create(unit=other_dispatcher.unit, link_valid_days=7)
    here = call_at(clock, dispatcher=dispatcher, at=local(2026, 3, 10, 9))
    there = call_at(clock, dispatcher=other_dispatcher, at=local(2026, 3, 10, 9))
    run_for(DAY)
    issued = local(2026, 3, 11, 0, 20)
    assert SurveyCard.objects.get(call=here).link_expires_at == issued + dt.timedelta(days=30)
    assert SurveyCard.objects.get(call=there).link_expires_at == issued + dt.timedelta(days=7)


def test_the_default_policy_row_exists_for_administrators_to_edit(db):
    assert SurveyPolicy.objects.get(unit__isnull=True).link_valid_days == 30


def test_the_daily_run_is_on_the_one_beat_schedule():
    entry = beat_schedule()["complaints.issue-survey-cards"]
    assert entry["task"] == "complaints.tasks.issue_survey_cards"


def test_the_task_issues_cards_for_yesterday(dispatcher):
    from complaints.tasks import issue_survey_cards

    yesterday = timezone.now() - dt.timedelta(days=1)
    log_call(dispatcher=dispatcher, received_at=yesterday, now=yesterday)
    assert issue_survey_cards() == 1
    assert issue_survey_cards() == 0


def test_issuing_a_day_costs_a_few_statements_not_one_per_call(clock, dispatcher, django_assert_max_num_queries):
    for minute in range(30):
        call_at(clock, dispatcher=dispatcher, at=local(2026, 3, 10, 9, minute))
    # units, policies, then per unit: calls, batches insert+read, cards insert+count, and the empty read.
    with django_assert_max_num_queries(20):
        assert run_for(DAY) == 30


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
@pytest.mark.skipif(not is_postgres(), reason="concurrent runs need PostgreSQL")
def test_concurrent_runs_create_each_card_exactly_once(dispatcher):
    when = timezone.now() - dt.timedelta(days=1)
    calls = [log_call(dispatcher=dispatcher, received_at=when, now=when) for _ in range(40)]
    now = timezone.now()
    results, errors = [], []
    barrier = threading.Barrier(3)

    def run():
        try:
            barrier.wait()
            results.append(services.survey_cards_issue(now=now, batch_size=7))
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    assert not errors
    assert sum(results) == len(calls)
    assert SurveyCard.objects.count() == len(calls)
    assert SurveyBatch.objects.count() == 1
