"""The complaint-stage deadline check: one reminder slip per overdue stage and overdue day, whatever runs twice."""

import datetime as dt
import threading

import pytest
from django.core import mail
from django.db import connection
from django.urls import reverse
from django.utils import timezone

from complaints.models import ComplaintCase, ReminderSlip
from complaints.notices import REMINDER
from complaints.services import improvement_action_propose, reminder_slips_issue
from complaints.services.reminders import overdue_cases_query
from servicedesk.models import Notification
from servicedesk.notifications import absolute_url, notifications_deliver_pending
from tests.conftest import is_postgres


def _past(days):
    return timezone.now() - dt.timedelta(days=days)


@pytest.fixture
def late_case(flow):
    """Received twelve days ago, never passed on: far past its one-day stage."""
    past = _past(12)
    return flow.open(received_at=past, now=past)


def test_an_overdue_stage_gets_one_slip_however_often_the_check_runs(late_case):
    # Local noon: half an hour later is still the same overdue day (at 23:45 it would not be).
    now = timezone.localtime().replace(hour=12, minute=0, second=0, microsecond=0)
    assert reminder_slips_issue(now=now) == 1
    assert reminder_slips_issue(now=now) == 0
    assert reminder_slips_issue(now=now + dt.timedelta(minutes=30)) == 0
    slip = ReminderSlip.objects.get()
    assert (slip.case_id, slip.stage, slip.overdue_day) == (late_case.pk, "received", timezone.localdate(now))
    assert slip.owner_unit_id == late_case.unit_id and slip.owner_role == "supervisor"


def test_the_next_overdue_day_gets_its_own_slip(late_case):
    now = timezone.now()
    reminder_slips_issue(now=now)
    assert reminder_slips_issue(now=now + dt.timedelta(days=1)) == 1
    assert ReminderSlip.objects.count() == 2


def test_a_stage_on_time_gets_no_slip(flow):
    flow.open()
    assert reminder_slips_issue(now=timezone.now()) == 0


def test_the_next_stage_starts_afresh_and_an_audited_case_is_never_chased(flow, late_case):
    now = timezone.now()
    reminder_slips_issue(now=now)
    moved = flow.step(late_case, "investigation")
    assert reminder_slips_issue(now=now) == 0  # the new stage is not late yet
    ComplaintCase.objects.filter(pk=moved.pk).update(stage_due_at=now - dt.timedelta(hours=1))
    assert reminder_slips_issue(now=now) == 1  # same day, but a new stay in a new stage
    slip = ReminderSlip.objects.latest("id")
    assert slip.stage == "investigation" and slip.owner_unit == flow.people["quality"].unit
    assert slip.owner_role == "department_head"


def test_the_slip_notifies_the_stages_owner_once(late_case, supervisor):
    now = timezone.now()
    reminder_slips_issue(now=now)
    reminder_slips_issue(now=now + dt.timedelta(minutes=1))
    notices = Notification.objects.filter(dedupe_key__startswith="complaints.reminder:")
    assert [n.recipient for n in notices] == [supervisor]


def test_the_reminder_is_rendered_when_delivered(late_case, supervisor):
    reminder_slips_issue(now=timezone.now())
    slip = ReminderSlip.objects.get()
    notice = Notification.objects.get(dedupe_key__startswith="complaints.reminder:")
    assert (notice.kind, notice.object_id, notice.subject) == (REMINDER, slip.pk, "")
    notifications_deliver_pending()
    [email] = [m for m in mail.outbox if m.to == [supervisor.email]]
    assert email.subject == f"Reminder: complaint case {late_case.number} is overdue"
    due = timezone.localtime(slip.due_at).strftime("%Y-%m-%d %H:%M")
    url = absolute_url(reverse("complaints:case_detail", kwargs={"pk": late_case.pk}))
    assert email.body == f"The stage “{slip.get_stage_display()}” was due on {due}. {url}"


def test_the_check_reads_with_one_query_per_batch(late_case, flow, django_assert_max_num_queries):
    for days in (5, 6, 7):
        flow.open(received_at=_past(days), now=_past(days))
    # rules (2) + the batch read + insert + read back + owners (2) + notices: fixed, not per case.
    with django_assert_max_num_queries(12):
        assert reminder_slips_issue(now=timezone.now()) == 4


def test_the_overdue_query_uses_the_partial_index_condition(db):
    sql = str(overdue_cases_query(now=timezone.now()).query)
    assert "stage_due_at" in sql and "audited" in sql


@pytest.mark.postgres
@pytest.mark.skipif(not is_postgres(), reason="needs PostgreSQL for real concurrent transactions")
@pytest.mark.django_db(transaction=True)
def test_two_checks_at_once_issue_each_slip_exactly_once(flow):
    for days in (3, 4, 5, 6):
        flow.open(received_at=_past(days), now=_past(days))
    now = timezone.now()
    barrier = threading.Barrier(2)
    results, errors = [], []

    def run(offset):
        try:
            barrier.wait(timeout=10)
            results.append(reminder_slips_issue(now=now + dt.timedelta(microseconds=offset)))
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i,)) for i in (1, 2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert not errors
    assert ReminderSlip.objects.count() == 4
    assert sum(results) == 4


def test_the_gm_office_page_lists_overdue_cases_slips_audits_and_overdue_actions(client, flow, people, late_case):
    reminder_slips_issue(now=timezone.now())
    closed = flow.to(flow.open(), "closed")
    action = improvement_action_propose(
        user=people["supervisor"],
        case_id=closed.pk,
        proposal="加严来料检验",
        owner=people["factory"],
        due_on=timezone.localdate(),
    )
    type(action).objects.filter(pk=action.pk).update(due_on=timezone.localdate() - dt.timedelta(days=3))
    client.force_login(people["gm_office"])
    page = client.get(reverse("complaints:gm_office"))
    assert page.status_code == 200
    overdue = page.text.split('id="overdue-cases"')[1].split("</table>")[0]
    audit = page.text.split('id="audit-cases"')[1].split("</table>")[0]
    slips = page.text.split('id="reminder-slips"')[1].split("</table>")[0]
    actions = page.text.split('id="overdue-actions"')[1].split("</table>")[0]
    assert late_case.number in overdue and closed.number not in overdue
    assert closed.number in audit
    assert late_case.number in slips and "CB-" in slips
    assert "加严来料检验" in actions


def test_the_gm_office_page_runs_a_fixed_number_of_queries(client, flow, people, django_assert_max_num_queries):
    def add(n):
        for i in range(n):
            flow.open(received_at=_past(8 + i), now=_past(8 + i))
        reminder_slips_issue(now=timezone.now() + dt.timedelta(seconds=n))

    add(2)
    client.force_login(people["gm_office"])
    client.get(reverse("complaints:gm_office"))
    with django_assert_max_num_queries(30) as small:
        client.get(reverse("complaints:gm_office"))
    add(8)
    with django_assert_max_num_queries(len(small.captured_queries)):
        assert client.get(reverse("complaints:gm_office")).status_code == 200


def test_the_reminder_slip_prints(client, people, late_case):
    reminder_slips_issue(now=timezone.now())
    slip = ReminderSlip.objects.get()
    client.force_login(people["gm_office"])
    response = client.get(reverse("complaints:reminder_slip_pdf", args=[slip.pk]))
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
