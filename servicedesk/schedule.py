"""The periodic schedule, defined here and nowhere else.

Beat enqueues; each task is idempotent, so a late, repeated or doubled run does
every piece of work once. Administrators can change an interval in the admin
(django-celery-beat keeps these entries in the database).
"""


def beat_schedule() -> dict:
    return {
        "repairs.check-overdue-calls": {
            "task": "repairs.tasks.check_overdue_calls",
            "schedule": 60.0,
        },
        "servicedesk.deliver-notifications": {
            "task": "servicedesk.tasks.deliver_pending_notifications",
            "schedule": 120.0,
        },
    }
