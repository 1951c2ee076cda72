"""The complaint-stage deadline check (DOMAIN 7 and 10): a reminder slip (催办单) per overdue stage and day.

Beat runs it hourly. One indexed query finds the open cases past their stage's
deadline; the slips are inserted in batches against the UNIQUE (case, stage
stay, overdue day), so a rerun, a late run or two runs at once issue each slip
exactly once. No task per case.
"""

import datetime as dt

from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone

from servicedesk.models import Notification
from servicedesk.notifications import notifications_queue

from ..case_page_cache import generation as case_page_generation
from ..models import ComplaintCase, ReminderSlip
from ..notices import REMINDER
from ..stages import slip_owner, stage_rules

BATCH = 1000


def overdue_cases_query(*, now: dt.datetime):
    # Served by the partial index case_stage_due_idx (stage_due_at, status <> audited).
    return ComplaintCase.objects.filter(stage_due_at__lt=now).exclude(status=ComplaintCase.Status.AUDITED)


def _owner_users(slips: list[ReminderSlip]) -> dict[tuple, list]:
    """{(unit id or None, role): users} for the slips' owners, in one query."""
    roles = {slip.owner_role for slip in slips if slip.owner_role}
    if not roles:
        return {}
    found: dict[tuple, list] = {}
    users = (
        get_user_model()
        .objects.filter(is_active=True, groups__name__in=roles)
        .exclude(email="")
        .prefetch_related("groups")
        .order_by("pk")
        .distinct()
    )
    for user in users:
        for group in user.groups.all():
            found.setdefault((user.unit_id, group.name), []).append(user)
            found.setdefault((None, group.name), []).append(user)
    return found


def _notices(slips: list[ReminderSlip]) -> list[Notification]:
    """A notice per slip and owner, naming the slip: the outbox renders it when sending (complaints/notices.py)."""
    owners = _owner_users(slips)
    return [
        Notification(
            dedupe_key=f"complaints.reminder:{slip.case_id}:{slip.stage_seq}:{slip.overdue_day}:{user.pk}",
            recipient=user,
            to_email=user.email,
            kind=REMINDER,
            object_id=slip.pk,
        )
        for slip in slips
        for user in owners.get((slip.owner_unit_id, slip.owner_role), [])
    ]


def reminder_slips_issue(*, now: dt.datetime, batch_size: int = BATCH) -> int:
    """Issue today's slips for every overdue stage that has none for today; returns how many were issued."""
    overdue_day = timezone.localdate(now)
    rules = stage_rules()
    issued = 0
    last_id = 0
    while True:
        with transaction.atomic():
            rows = list(
                overdue_cases_query(now=now)
                .filter(id__gt=last_id)
                .order_by("id")
                .values_list(
                    "id",
                    "status",
                    "stage_seq",
                    "stage_due_at",
                    "unit_id",
                    "responsible_unit_id",
                    "approval_role",
                )[:batch_size]
            )
            if not rows:
                break
            last_id = rows[-1][0]
            # This batch's own stamp (wall clock, microseconds) tells its slips from a concurrent or earlier run's.
            issued_at = timezone.now()
            slips = []
            for case_id, stage, seq, due_at, unit_id, responsible_unit_id, approval_role in rows:
                owner_unit_id, owner_role = slip_owner(
                    stage=stage,
                    unit_id=unit_id,
                    responsible_unit_id=responsible_unit_id,
                    approval_role=approval_role,
                    rules=rules,
                )
                slips.append(
                    ReminderSlip(
                        case_id=case_id,
                        stage=stage,
                        stage_seq=seq,
                        overdue_day=overdue_day,
                        due_at=due_at,
                        owner_unit_id=owner_unit_id,
                        owner_role=owner_role,
                        issued_at=issued_at,
                    )
                )
            ReminderSlip.objects.bulk_create(slips, ignore_conflicts=True)
            case_page_generation.replace()  # bulk_create sends no post_save: the case pages' kept slips are stale
            # Only the slips this batch wrote (a concurrent or earlier run may have taken some), with their ids.
            ours = {
                (case_id, seq): pk
                for pk, case_id, seq in ReminderSlip.objects.filter(
                    overdue_day=overdue_day, issued_at=issued_at, case_id__in=[slip.case_id for slip in slips]
                ).values_list("pk", "case_id", "stage_seq")
            }
            new = [slip for slip in slips if (slip.case_id, slip.stage_seq) in ours]
            for slip in new:
                slip.pk = ours[slip.case_id, slip.stage_seq]
            notifications_queue(notices=_notices(new))
            issued += len(new)
        if len(rows) < batch_size:
            break
    return issued
