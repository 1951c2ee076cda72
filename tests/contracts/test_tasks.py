import datetime as dt

from django.core import mail
from django.utils import timezone

from contracts import tasks
from contracts.models import ExpiryNotice
from servicedesk.celery import app
from servicedesk.schedule import beat_schedule


def test_the_daily_job_is_on_the_one_schedule_and_registered():
    schedule = beat_schedule()
    for entry in ("contracts.issue-expiry-notices", "contracts.deliver-expiry-notices"):
        assert schedule[entry]["task"] in app.tasks


def test_the_daily_task_notices_lapses_and_emails_in_one_go(dispatcher, make_contract):
    today = timezone.localdate()
    due = make_contract(user=dispatcher, start_on=today - dt.timedelta(days=300), end_on=today + dt.timedelta(days=5))
    make_contract(user=dispatcher, start_on=today - dt.timedelta(days=300), end_on=today + dt.timedelta(days=200))
    assert tasks.issue_expiry_notices() == {"notices": 1, "expired": 0, "emailed": 1}
    assert ExpiryNotice.objects.get().term.contract == due
    assert [m.to for m in mail.outbox if m.attachments] == [[due.customer.email]]
    assert tasks.issue_expiry_notices() == {"notices": 0, "expired": 0, "emailed": 0}
