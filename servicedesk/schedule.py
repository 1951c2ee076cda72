"""The periodic schedule, defined here and nowhere else.

Beat enqueues; each task is idempotent, so a late, repeated or doubled run does
every piece of work once. Administrators can change an interval in the admin
(django-celery-beat keeps these entries in the database).
"""

from celery.schedules import crontab


def beat_schedule() -> dict:
    return {
        "repairs.check-overdue-calls": {
            "task": "repairs.tasks.check_overdue_calls",
            "schedule": 60.0,
        },
        # Clause 十四: every repair card past its promised time that nobody reported, once per promised time.
        "repairs.escalate-late-repair-cards": {
            "task": "repairs.tasks.escalate_late_repair_cards",
            "schedule": 300.0,
        },
        # Webhook deliveries a kick missed (broker down) or whose retry is due (webhooks/services.py).
        "webhooks.deliver-webhooks": {
            "task": "webhooks.tasks.deliver_webhooks",
            "schedule": 60.0,
        },
        "servicedesk.deliver-notifications": {
            "task": "servicedesk.tasks.deliver_pending_notifications",
            "schedule": 120.0,
        },
        # Clause 二十四: after midnight, a survey card for every call of the finished day(s).
        "complaints.issue-survey-cards": {
            "task": "complaints.tasks.issue_survey_cards",
            "schedule": crontab(hour=0, minute=20),
        },
        # Clause 二十三: the month-end appraisal; the last closed months are kept up to date nightly.
        "complaints.record-appraisal-months": {
            "task": "complaints.tasks.record_appraisal_months",
            "schedule": crontab(hour=1, minute=10),
        },
        # DOMAIN 7: hourly, a reminder slip (催办单) for each overdue complaint-case stage, once per stage and day.
        "complaints.issue-reminder-slips": {
            "task": "complaints.tasks.issue_reminder_slips",
            "schedule": crontab(minute=5),
        },
        # Clause 二十: each morning, the expiry notice of every contract term entering its window.
        "contracts.issue-expiry-notices": {
            "task": "contracts.tasks.issue_expiry_notices",
            "schedule": crontab(hour=6, minute=10),
        },
        # DOMAIN 8: returned goods have a month to be resold; each ended window is closed once, GM office told.
        "penalties.close-resale-windows": {
            "task": "penalties.tasks.close_resale_windows",
            "schedule": crontab(minute=25),
        },
        # DOMAIN 4: each morning, the planned maintenance visits of every contract's period, once each.
        "contracts.generate-planned-visits": {
            "task": "contracts.tasks.generate_planned_visits",
            "schedule": crontab(hour=5, minute=40),
        },
        # Retries the notices' e-mails (with the PDF) that a mail server refused.
        "contracts.deliver-expiry-notices": {
            "task": "contracts.tasks.deliver_expiry_notices",
            "schedule": 900.0,
        },
        # Issue 15: the desk's mailbox, each new message once (a call, a reply, the queue or quarantine).
        "intake.read-mailbox": {
            "task": "intake.tasks.read_mailbox",
            "schedule": 60.0,
        },
        # Issue 13: the dashboard's month summary. Nightly every closed month that needs it (late figures, an
        # outage, calls changed since); the current month refreshed every ten minutes. Each month counted once.
        "dashboard.record-service-months": {
            "task": "dashboard.tasks.record_service_months",
            "schedule": crontab(hour=1, minute=30),
        },
        "dashboard.refresh-current-service-month": {
            "task": "dashboard.tasks.refresh_current_service_month",
            "schedule": 600.0,
        },
        # Export files (servicedesk.exports) are deleted a while after they were written; each job once.
        "servicedesk.clean-export-jobs": {
            "task": "servicedesk.tasks.clean_export_jobs",
            "schedule": crontab(minute=40),
        },
    }
