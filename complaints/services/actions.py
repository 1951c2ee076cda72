"""Improvement actions (改善案): proposed after a case, carried out by their owner, chased, effect confirmed."""

import datetime as dt

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from servicedesk.exceptions import ApplicationError
from servicedesk.workflow import apply_transition, lock_for_update, record_status_change

from ..models import ComplaintCase, ImprovementAction
from ..stages import action_owner_unit_ids
from .cases import case_visible_to

A = ImprovementAction.Status
TEXT_LIMIT = 4000


def _text(value, field_name):
    value = (value or "").strip()
    if not value:
        raise ApplicationError(_("This is required."), field=field_name)
    if len(value) > TEXT_LIMIT:
        raise ApplicationError(_("Keep it under %(limit)s characters.") % {"limit": TEXT_LIMIT}, field=field_name)
    return value


def _action_for(*, user, action_id: int) -> ImprovementAction:
    action = lock_for_update(ImprovementAction.objects.select_related("case"), pk=action_id)
    if not case_visible_to(user=user, case=action.case) and action.owner_id != user.pk:
        raise ApplicationError(_("You are not allowed to do this."))
    return action


@transaction.atomic
def improvement_action_propose(*, user, case_id: int, proposal: str, owner, due_on: dt.date) -> ImprovementAction:
    case = lock_for_update(ComplaintCase.objects.all(), pk=case_id)
    if not user.has_perm("complaints.work_case") or not case_visible_to(user=user, case=case):
        raise ApplicationError(_("You are not allowed to do this."))
    if owner is None or not owner.is_active:
        raise ApplicationError(_("Choose who carries it out."), field="owner")
    if owner.unit_id not in action_owner_unit_ids(case=case):
        # The owner reads the case's proposal in their inbox: never a person of another branch.
        raise ApplicationError(
            _("The owner must belong to the case's unit or to a head-office department the case involves."),
            field="owner",
        )
    if due_on is None or due_on < timezone.localdate():
        raise ApplicationError(_("The due date cannot be in the past."), field="due_on")
    now = timezone.now()
    action = ImprovementAction.objects.create(
        case=case,
        proposal=_text(proposal, "proposal"),
        owner=owner,
        due_on=due_on,
        created_by=user,
        created_at=now,
        updated_at=now,
    )
    record_status_change(instance=action, from_status="", to_status=action.status, by=user, at=now)
    return action


@transaction.atomic
def improvement_action_execute(*, user, action_id: int, execution: str) -> ImprovementAction:
    """The owner records what was done."""
    action = _action_for(user=user, action_id=action_id)
    if action.owner_id != user.pk:
        raise ApplicationError(_("Only the action's owner records what was done."))
    action.execution = _text(execution, "execution")
    action.executed_at = timezone.now()
    apply_transition(instance=action, to_status=A.EXECUTED, by=user, fields=["execution", "executed_at"])
    return action


@transaction.atomic
def improvement_action_follow_up(*, user, action_id: int, note: str) -> ImprovementAction:
    """The GM office (or the case's people) chase it; the latest note is kept, every note is in the history."""
    action = _action_for(user=user, action_id=action_id)
    if not (user.has_perm("complaints.audit_case") or user.has_perm("complaints.work_case")):
        raise ApplicationError(_("You are not allowed to do this."))
    if action.status == A.CONFIRMED:
        raise ApplicationError(_("Its effect is confirmed; there is nothing to chase."))
    now = timezone.now()
    action.follow_up = _text(note, "note")
    action.followed_up_at = now
    action.updated_at = now
    action.version += 1
    action.save(update_fields=["follow_up", "followed_up_at", "updated_at", "version"])
    record_status_change(
        instance=action, from_status=action.status, to_status=action.status, by=user, note=action.follow_up, at=now
    )
    return action


@transaction.atomic
def improvement_action_confirm(*, user, action_id: int, effect: str, confirmed: bool = True) -> ImprovementAction:
    """Someone other than the owner confirms the effect, or sends the action back to work."""
    action = _action_for(user=user, action_id=action_id)
    if not (user.has_perm("complaints.audit_case") or user.has_perm("complaints.work_case")):
        raise ApplicationError(_("You are not allowed to do this."))
    if action.owner_id == user.pk:
        raise ApplicationError(_("The owner cannot confirm the effect of their own action."))
    action.effect = _text(effect, "effect")
    if confirmed:
        action.confirmed_by, action.confirmed_at = user, timezone.now()
        apply_transition(
            instance=action, to_status=A.CONFIRMED, by=user, fields=["effect", "confirmed_by", "confirmed_at"]
        )
    else:
        apply_transition(instance=action, to_status=A.PROPOSED, by=user, note=action.effect, fields=["effect"])
    return action
