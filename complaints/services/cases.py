"""Complaint cases (DOMAIN section 7): opened with the handling form, moved stage by stage through one service."""

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from servicedesk.exceptions import ApplicationError
from servicedesk.models import OrgUnit
from servicedesk.numbering import next_number
from servicedesk.scoping import user_may_act_in_unit
from servicedesk.workflow import apply_transition, check_transition, lock_for_update, record_status_change

from ..models import CauseCategory, ComplaintCase, CustomerOpinion
from ..stages import approval_role_for, stage_due_at, stage_rules, user_owns_stage
from .opinions import customer_opinion_record, follow_up_refusal, opinion_follow_case

S = ComplaintCase.Status
CASE_SERIES = "KS"
TEXT_LIMIT = 4000


def _text(value, *, field_name: str, required: bool = True, limit: int = TEXT_LIMIT) -> str:
    value = (value or "").strip()
    if required and not value:
        raise ApplicationError(_("This is required for this stage."), field=field_name)
    if len(value) > limit:
        raise ApplicationError(_("Keep it under %(limit)s characters.") % {"limit": limit}, field=field_name)
    return value


def _amount(value, *, field_name: str) -> Decimal:
    try:
        amount = Decimal(str(value)).quantize(Decimal("0.01"))
    except (InvalidOperation, ValueError, TypeError):
        raise ApplicationError(_("Enter an amount in yuan."), field=field_name) from None
    if not amount.is_finite() or amount < 0 or amount >= Decimal("1e12"):
        raise ApplicationError(_("Enter an amount of zero or more."), field=field_name)
    return amount


def case_visible_to(*, user, case: ComplaintCase) -> bool:
    """The case's own unit, the responsible department, or head office."""
    return user_may_act_in_unit(user=user, unit_id=case.unit_id) or (
        case.responsible_unit_id is not None and user_may_act_in_unit(user=user, unit_id=case.responsible_unit_id)
    )


@transaction.atomic
def complaint_case_open(
    *,
    user,
    unit,
    customer,
    description: str,
    received_at: dt.datetime | None = None,
    kind: str = ComplaintCase.Kind.PRODUCT,
    opinion: CustomerOpinion | None = None,
    call=None,
    technician=None,
    product_description: str = "",
    customer_request: str = "",
    claimed_amount=Decimal("0"),
    source: str = CustomerOpinion.Source.PHONE,
    severity: str = CustomerOpinion.Severity.GENERAL,
    now: dt.datetime | None = None,
) -> ComplaintCase:
    """Step 1: sales/service receives the complaint and opens its handling form (客户抱怨处理表).

    Every case hangs on a complaint: opened from one, or a complaint is recorded with it, so
    the supervisor's follow-up (clause 二十八) always has a place and is required before closing.
    """
    now = now or timezone.now()
    if not user.has_perm("complaints.open_case"):
        raise ApplicationError(_("You are not allowed to do this."))
    if not user_may_act_in_unit(user=user, unit_id=unit.pk):
        raise ApplicationError(_("This record belongs to another unit."))
    if kind not in ComplaintCase.Kind.values:
        raise ApplicationError(_("Choose product or service."), field="kind")
    description = _text(description, field_name="description")
    customer_request = _text(customer_request, field_name="customer_request", required=False, limit=2000)
    claimed_amount = _amount(claimed_amount, field_name="claimed_amount")
    received_at = received_at or now
    if received_at > now + dt.timedelta(minutes=5):
        raise ApplicationError(_("The complaint cannot be received in the future."), field="received_at")
    if opinion is not None:
        if opinion.kind != CustomerOpinion.Kind.COMPLAINT:
            raise ApplicationError(_("Only a complaint opens a case."))
        if opinion.unit_id != unit.pk:
            raise ApplicationError(_("This complaint belongs to another unit."))
        customer = opinion.customer
        call = call or opinion.call
        technician = technician or opinion.technician
    elif customer.unit_id != unit.pk:
        raise ApplicationError(_("This customer belongs to another unit."), field="customer")
    if call is not None and call.unit_id != unit.pk:
        raise ApplicationError(_("This repair call belongs to another unit."), field="call")
    if opinion is None:
        opinion = customer_opinion_record(
            unit=unit,
            customer=customer,
            call=call,
            technician=technician,
            kind=CustomerOpinion.Kind.COMPLAINT,
            source=source,
            severity=severity,
            text=description,
            received_at=received_at,
            by=user,
        )
    rules = stage_rules()
    case = ComplaintCase.objects.create(
        number=next_number(series=CASE_SERIES, at=received_at),
        unit=unit,
        customer=customer,
        opinion=opinion,
        call=call,
        technician=technician,
        kind=kind,
        product_description=_text(product_description, field_name="product_description", required=False, limit=200),
        description=description,
        customer_request=customer_request,
        claimed_amount=claimed_amount,
        received_at=received_at,
        received_by=user,
        stage_entered_at=now,
        stage_due_at=stage_due_at(stage=S.RECEIVED, start=now, rules=rules),
        created_at=now,
        updated_at=now,
    )
    record_status_change(instance=case, from_status="", to_status=case.status, by=user, at=now)
    opinion_follow_case(opinion=opinion, case=case, stage="opened", by=user, at=now)
    return case


@dataclass
class StageInput:
    """What the owner of the current stage fills in when handing the case on (unused fields are ignored)."""

    note: str = ""
    investigation_findings: str = ""
    cause_category: CauseCategory | None = None
    responsible_unit: OrgUnit | None = None
    responsible_person: object | None = None
    cause_analysis: str = ""
    countermeasures: str = ""
    manager_instructions: str = ""
    comprehensive_opinion: str = ""
    claimed_amount: Decimal | None = None
    customer_result: str = ""
    extra: dict = field(default_factory=dict)


def _complete_investigation(case, data: StageInput, user, now) -> list[str]:
    case.investigation_findings = _text(data.investigation_findings, field_name="investigation_findings")
    if data.cause_category is None or not data.cause_category.is_active:
        raise ApplicationError(_("Choose the cause category."), field="cause_category")
    if data.responsible_unit is None:
        raise ApplicationError(_("Choose the responsible department."), field="responsible_unit")
    person = data.responsible_person
    if person is not None and person.unit_id != data.responsible_unit.pk:
        raise ApplicationError(
            _("The responsible person must belong to the responsible department."), field="responsible_person"
        )
    case.cause_category = data.cause_category
    case.responsible_unit = data.responsible_unit
    case.responsible_person = person
    return ["investigation_findings", "cause_category", "responsible_unit", "responsible_person"]


def _complete_cause_analysis(case, data: StageInput, user, now) -> list[str]:
    case.cause_analysis = _text(data.cause_analysis, field_name="cause_analysis")
    case.countermeasures = _text(data.countermeasures, field_name="countermeasures")
    return ["cause_analysis", "countermeasures"]


def _complete_instructions(case, data: StageInput, user, now) -> list[str]:
    case.manager_instructions = _text(data.manager_instructions, field_name="manager_instructions")
    return ["manager_instructions"]


def _submit_opinion(case, data: StageInput, user, now) -> list[str]:
    case.comprehensive_opinion = _text(data.comprehensive_opinion, field_name="comprehensive_opinion")
    if data.claimed_amount is not None:
        case.claimed_amount = _amount(data.claimed_amount, field_name="claimed_amount")
    role = approval_role_for(case.claimed_amount)
    if not role:
        raise ApplicationError(
            _("The approval authority table has no row for %(amount)s yuan; ask an administrator.")
            % {"amount": case.claimed_amount},
            field="claimed_amount",
        )
    case.approval_role = role
    case.opinion_submitted_by = user
    case.opinion_submitted_at = now
    case.approved_by = None
    return [
        "comprehensive_opinion",
        "claimed_amount",
        "approval_role",
        "opinion_submitted_by",
        "opinion_submitted_at",
        "approved_by",
    ]


def _approve(case, data: StageInput, user, now) -> list[str]:
    # user_owns_stage has checked the role and that the approver is not the submitter; say so again here
    # because this is the rule that must never slip.
    if case.opinion_submitted_by_id == user.pk:
        raise ApplicationError(_("You submitted this opinion; someone else must approve it."))
    case.approved_by = user
    case.ruled_at = now
    return ["approved_by", "ruled_at"]


def _send_back(case, data: StageInput, user, now) -> list[str]:
    if not (data.note or "").strip():
        raise ApplicationError(_("Say why the opinion goes back."), field="note")
    if case.opinion_submitted_by_id == user.pk:
        raise ApplicationError(_("You submitted this opinion; someone else must approve it."))
    return []


def _close(case, data: StageInput, user, now) -> list[str]:
    case.customer_result = _text(data.customer_result, field_name="customer_result")
    # Clause 二十八: not before the supervisor has followed the complaining customer up in person.
    refusal = follow_up_refusal(opinion=case.opinion) if case.opinion_id is not None else None
    if refusal:
        raise ApplicationError(refusal)
    case.closed_at = now
    return ["customer_result", "closed_at"]


def _audit(case, data: StageInput, user, now) -> list[str]:
    case.audited_by = user
    case.audited_at = now
    return ["audited_by", "audited_at"]


STEP_HANDLERS = {
    (S.RECEIVED, S.INVESTIGATION): lambda case, data, user, now: [],
    (S.INVESTIGATION, S.CAUSE_ANALYSIS): _complete_investigation,
    (S.CAUSE_ANALYSIS, S.INSTRUCTIONS): _complete_cause_analysis,
    (S.INSTRUCTIONS, S.OPINION): _complete_instructions,
    (S.OPINION, S.APPROVAL): _submit_opinion,
    (S.APPROVAL, S.EXPLANATION): _approve,
    (S.APPROVAL, S.OPINION): _send_back,
    (S.EXPLANATION, S.CLOSED): _close,
    (S.CLOSED, S.AUDITED): _audit,
}


@transaction.atomic
def complaint_case_transition(
    *, user, case_id: int, to_status: str, data: StageInput | None = None, now: dt.datetime | None = None
) -> ComplaintCase:
    """Hand the case on to ``to_status``: only the current stage's owner, only along TRANSITIONS.

    The stage's figures are saved with the status, the next stage's deadline is set from the
    deadline table, and the history row keeps the comment.
    """
    now = now or timezone.now()
    data = data or StageInput()
    case = lock_for_update(ComplaintCase.objects.select_related("opinion"), pk=case_id)
    if not user.has_perm("complaints.work_case") or not case_visible_to(user=user, case=case):
        raise ApplicationError(_("You are not allowed to do this."))
    check_transition(instance=case, to_status=to_status)
    rules = stage_rules()
    if not user_owns_stage(user=user, case=case, rules=rules):
        if case.status == S.APPROVAL and case.opinion_submitted_by_id == user.pk:
            raise ApplicationError(_("You submitted this opinion; someone else must approve it."))
        raise ApplicationError(_("The stage “%(stage)s” is not yours to complete.") % {"stage": S(case.status).label})
    fields = STEP_HANDLERS[(case.status, to_status)](case, data, user, now)
    note = _text(data.note, field_name="note", required=False, limit=2000)
    case.stage_entered_at = now
    case.stage_due_at = stage_due_at(stage=to_status, start=now, rules=rules)
    case.stage_seq += 1
    apply_transition(
        instance=case,
        to_status=to_status,
        by=user,
        note=note,
        at=now,
        fields=[*fields, "stage_entered_at", "stage_due_at", "stage_seq"],
    )
    if to_status == S.CLOSED and case.opinion_id is not None:
        opinion_follow_case(opinion=case.opinion, case=case, stage="closed", by=user, at=now)
    return case
