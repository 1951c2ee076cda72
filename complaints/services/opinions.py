"""Customers' suggestions and complaints (clause 二十三): recorded here, handled by the service department."""

import datetime as dt

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from servicedesk import events
from servicedesk.exceptions import ApplicationError
from servicedesk.numbering import next_number
from servicedesk.roles import Role
from servicedesk.scoping import user_may_act_in_unit
from servicedesk.workflow import apply_transition, lock_for_update, record_status_change

from ..case_selectors import follow_up_methods_that_count
from ..models import CustomerOpinion, OpinionFollowUp

OPINION_MAX_LENGTH = 4000
LETTER_SERIES = "HG"


def queue_for(severity: str) -> str:
    """Clause 二十六: serious ones at once to the deputy general manager, general ones to the service department."""
    if severity == CustomerOpinion.Severity.SERIOUS:
        return CustomerOpinion.Queue.DEPUTY_GM
    return CustomerOpinion.Queue.SERVICE_DEPARTMENT


def may_handle(*, user, opinion: CustomerOpinion) -> bool:
    """The opinion's queue decides who handles it: the deputy GM for serious ones, the service department else."""
    if not user_may_act_in_unit(user=user, unit_id=opinion.unit_id):
        return False
    if opinion.queue == CustomerOpinion.Queue.DEPUTY_GM:
        return user.has_perm("complaints.handle_serious_opinion")
    return user.has_perm("complaints.handle_opinion") or user.has_perm("complaints.handle_serious_opinion")


def may_record_follow_up(*, user, opinion: CustomerOpinion) -> bool:
    """Whether ``user`` may record the complaint's personal follow-up (``opinion_follow_up_record``'s own rules),
    so a page offers the form only where it can succeed."""
    return (
        opinion.complained
        and opinion.status != CustomerOpinion.Status.CLOSED
        and user.has_perm("complaints.record_follow_up")
        and user.has_role(Role.SUPERVISOR)
        and user.unit_id == opinion.unit_id
    )


def _locked_for_handler(*, user, opinion_id: int) -> CustomerOpinion:
    opinion = lock_for_update(CustomerOpinion.objects.all(), pk=opinion_id)
    if not may_handle(user=user, opinion=opinion):
        raise ApplicationError(_("You are not allowed to do this."))
    return opinion


@transaction.atomic
def customer_opinion_record(
    *,
    unit,
    customer,
    kind: str,
    source: str,
    text: str,
    received_at: dt.datetime,
    call=None,
    technician=None,
    survey_card=None,
    severity: str = CustomerOpinion.Severity.GENERAL,
    by=None,
) -> CustomerOpinion:
    """Record a suggestion or complaint; it starts as “new” in the service department's list."""
    if kind not in CustomerOpinion.Kind.values:
        raise ApplicationError(_("Choose suggestion or complaint."), field="kind")
    if source not in CustomerOpinion.Source.values:
        raise ApplicationError(_("Choose where the opinion came from."), field="source")
    if severity not in CustomerOpinion.Severity.values:
        raise ApplicationError(_("Choose serious or general."), field="severity")
    text = (text or "").strip()
    if not text:
        raise ApplicationError(_("Write down what the customer said."), field="text")
    if len(text) > OPINION_MAX_LENGTH:
        raise ApplicationError(_("Keep it under %(limit)s characters.") % {"limit": OPINION_MAX_LENGTH}, field="text")
    if customer.unit_id != unit.pk:
        raise ApplicationError(_("This customer belongs to another unit."), field="customer")
    if call is not None and call.unit_id != unit.pk:
        raise ApplicationError(_("This repair call belongs to another unit."), field="call")
    now = timezone.now()
    opinion = CustomerOpinion.objects.create(
        queue=queue_for(severity),
        unit=unit,
        customer=customer,
        call=call,
        technician=technician,
        survey_card=survey_card,
        kind=kind,
        complained=kind == CustomerOpinion.Kind.COMPLAINT,
        severity=severity,
        source=source,
        text=text,
        received_at=received_at,
        created_by=by if (by is not None and by.is_authenticated) else None,
        created_at=now,
        updated_at=now,
    )
    record_status_change(instance=opinion, from_status="", to_status=opinion.status, by=by, at=now)
    events.event_emit(
        events.COMPLAINT_FILED,
        object_type="customer_opinion",
        object_id=opinion.pk,
        unit_id=opinion.unit_id,
        data={
            "kind": opinion.kind,
            "severity": opinion.severity,
            "source": opinion.source,
            "customer_id": opinion.customer_id,
            "call_id": opinion.call_id,
        },
        at=now,
    )
    return opinion


@transaction.atomic
def customer_opinion_acknowledge(*, user, opinion_id: int, note: str = "") -> CustomerOpinion:
    """The service department has read it and taken it in hand."""
    opinion = lock_for_update(CustomerOpinion.objects.all(), pk=opinion_id)
    if not user.has_perm("complaints.acknowledge_opinion"):
        raise ApplicationError(_("You are not allowed to do this."))
    if not user_may_act_in_unit(user=user, unit_id=opinion.unit_id):
        raise ApplicationError(_("This record belongs to another unit."))
    if opinion.queue == CustomerOpinion.Queue.DEPUTY_GM and not user.has_perm("complaints.handle_serious_opinion"):
        # Clause 二十六: a serious one is the deputy general manager's to review.
        raise ApplicationError(_("A serious complaint is reviewed by the deputy general manager."))
    apply_transition(instance=opinion, to_status=CustomerOpinion.Status.ACKNOWLEDGED, by=user, note=note.strip())
    return opinion


def is_downgrade(*, opinion: CustomerOpinion, kind: str, severity: str) -> bool:
    """A serious complaint made general, or a complaint made a suggestion: the deputy GM's decision alone."""
    return (opinion.severity == CustomerOpinion.Severity.SERIOUS and severity != CustomerOpinion.Severity.SERIOUS) or (
        opinion.kind == CustomerOpinion.Kind.COMPLAINT and kind != CustomerOpinion.Kind.COMPLAINT
    )


@transaction.atomic
def customer_opinion_classify(*, user, opinion_id: int, kind: str, severity: str, note: str = "") -> CustomerOpinion:
    """The handler of the opinion's queue decides suggestion/complaint and serious/general; routes it.

    Clause 二十六: a serious one in the deputy GM's queue is the deputy GM's to classify. Downgrading (serious
    to general, complaint to suggestion) is the deputy GM's decision only, with a reason in the history; it
    never takes away the supervisor's follow-up of a customer who complained (clause 二十八).
    """
    opinion = lock_for_update(CustomerOpinion.objects.all(), pk=opinion_id)
    if not (user.has_perm("complaints.handle_opinion") or user.has_perm("complaints.handle_serious_opinion")):
        raise ApplicationError(_("You are not allowed to do this."))
    if not user_may_act_in_unit(user=user, unit_id=opinion.unit_id):
        raise ApplicationError(_("This record belongs to another unit."))
    if not may_handle(user=user, opinion=opinion):
        raise ApplicationError(_("A serious complaint is reviewed by the deputy general manager."))
    if opinion.status in (CustomerOpinion.Status.RESOLVED, CustomerOpinion.Status.CLOSED):
        raise ApplicationError(_("It has been handled already; it can no longer be reclassified."))
    if kind not in CustomerOpinion.Kind.values:
        raise ApplicationError(_("Choose suggestion or complaint."), field="kind")
    if severity not in CustomerOpinion.Severity.values:
        raise ApplicationError(_("Choose serious or general."), field="severity")
    note = (note or "").strip()
    if is_downgrade(opinion=opinion, kind=kind, severity=severity):
        if not user.has_perm("complaints.handle_serious_opinion"):
            raise ApplicationError(
                _(
                    "Only the deputy general manager may downgrade a serious complaint or turn a complaint "
                    "into a suggestion."
                )
            )
        if not note:
            raise ApplicationError(_("Give the reason for the downgrade; it is kept in the history."), field="note")
    previous = (opinion.get_kind_display(), opinion.get_severity_display())
    opinion.kind, opinion.severity, opinion.queue = kind, severity, queue_for(severity)
    opinion.complained = opinion.complained or kind == CustomerOpinion.Kind.COMPLAINT
    opinion.updated_at = timezone.now()
    opinion.version += 1
    opinion.save(update_fields=["kind", "severity", "queue", "complained", "updated_at", "version"])
    record_status_change(
        instance=opinion,
        from_status=opinion.status,
        to_status=opinion.status,
        by=user,
        note=_("Classified %(kind)s, %(severity)s (was %(old_kind)s, %(old_severity)s). %(note)s")
        % {
            "kind": opinion.get_kind_display(),
            "severity": opinion.get_severity_display(),
            "old_kind": previous[0],
            "old_severity": previous[1],
            "note": note,
        },
    )
    return opinion


@transaction.atomic
def customer_opinion_forward(*, user, opinion_id: int, to_unit, note: str) -> CustomerOpinion:
    """The deputy GM forwards a serious one to the department that must act; it still answers to the deputy GM."""
    opinion = _locked_for_handler(user=user, opinion_id=opinion_id)
    if to_unit is None:
        raise ApplicationError(_("Choose the department to forward it to."), field="to_unit")
    note = (note or "").strip()
    if not note:
        raise ApplicationError(_("Say what the department is asked to do."), field="note")
    opinion.forwarded_to = to_unit
    apply_transition(
        instance=opinion, to_status=CustomerOpinion.Status.FORWARDED, by=user, note=note, fields=["forwarded_to"]
    )
    return opinion


@transaction.atomic
def customer_opinion_resolve(*, user, opinion_id: int, outcome: str, now: dt.datetime | None = None):
    """Record how it was handled; a serious one gets its letter number (函告, clause 二十六)."""
    now = now or timezone.now()
    opinion = _locked_for_handler(user=user, opinion_id=opinion_id)
    outcome = (outcome or "").strip()
    if not outcome:
        raise ApplicationError(_("Write down how it was handled."), field="outcome")
    if len(outcome) > OPINION_MAX_LENGTH:
        raise ApplicationError(
            _("Keep it under %(limit)s characters.") % {"limit": OPINION_MAX_LENGTH}, field="outcome"
        )
    opinion.outcome = outcome
    opinion.resolved_at = now
    opinion.resolved_by = user
    fields = ["outcome", "resolved_at", "resolved_by"]
    if opinion.severity == CustomerOpinion.Severity.SERIOUS and not opinion.letter_number:
        opinion.letter_number = next_number(series=LETTER_SERIES, at=now)
        fields.append("letter_number")
    apply_transition(instance=opinion, to_status=CustomerOpinion.Status.RESOLVED, by=user, fields=fields, at=now)
    return opinion


@transaction.atomic
def opinion_follow_up_record(
    *, user, opinion_id: int, followed_up_at: dt.datetime, method: str, summary: str
) -> OpinionFollowUp:
    """Clause 二十八: the unit's own service supervisor records the personal follow-up (when, how, what was said)."""
    opinion = lock_for_update(CustomerOpinion.objects.all(), pk=opinion_id)
    if not user.has_perm("complaints.record_follow_up") or not user.has_role(Role.SUPERVISOR):
        raise ApplicationError(_("Only a service supervisor records the follow-up."))
    if user.unit_id != opinion.unit_id:
        # The supervisor of the centre or branch that owns the complaint, not any supervisor.
        raise ApplicationError(_("This record belongs to another unit."))
    if not opinion.complained:
        raise ApplicationError(_("A follow-up is recorded for complaints."))
    if method not in OpinionFollowUp.Method.values:
        raise ApplicationError(_("Choose how the customer was followed up."), field="method")
    summary = (summary or "").strip()
    if not summary:
        raise ApplicationError(_("Write down what was said."), field="summary")
    if len(summary) > OPINION_MAX_LENGTH:
        raise ApplicationError(
            _("Keep it under %(limit)s characters.") % {"limit": OPINION_MAX_LENGTH}, field="summary"
        )
    now = timezone.now()
    if followed_up_at is None or followed_up_at > now + dt.timedelta(minutes=5):
        raise ApplicationError(_("The follow-up cannot be in the future."), field="followed_up_at")
    if followed_up_at < opinion.received_at - dt.timedelta(days=1):
        raise ApplicationError(_("The follow-up cannot be before the complaint."), field="followed_up_at")
    return OpinionFollowUp.objects.create(
        opinion=opinion,
        supervisor=user,
        followed_up_at=followed_up_at,
        method=method,
        summary=summary,
        created_at=now,
    )


def follow_up_refusal(
    *, opinion: CustomerOpinion, follow_ups=None, methods_that_count=follow_up_methods_that_count
) -> str | None:
    """Why the complaint (or its case) cannot close yet, or None once a counting follow-up is recorded.

    ``follow_ups``: the opinion's follow-ups already read (its page lists them), instead of asking again;
    ``methods_that_count``: ``follow_up_methods_that_count`` or a page's kept copy of it (complaints.case_page_cache).
    """
    if not opinion.complained:
        return None
    methods = methods_that_count(unit_id=opinion.unit_id)
    if follow_ups is not None:
        recorded = {follow_up.method for follow_up in follow_ups}
    else:
        recorded = set(opinion.follow_ups.values_list("method", flat=True))
    if recorded & methods:
        return None
    if recorded:
        return _(
            "The follow-up recorded so far is not a visit in person: the unit's service supervisor visits the "
            "customer in person (a phone call counts only where the unit's setting allows it)."
        )
    return _("The unit's service supervisor has not yet recorded a personal follow-up with the customer.")


@transaction.atomic
def customer_opinion_close(*, user, opinion_id: int, note: str = "") -> CustomerOpinion:
    """Close a handled opinion; once the customer complained, only after the supervisor's visit (clause 二十八)."""
    opinion = _locked_for_handler(user=user, opinion_id=opinion_id)
    refusal = follow_up_refusal(opinion=opinion)
    if refusal:
        raise ApplicationError(refusal)
    opinion.closed_at = timezone.now()
    apply_transition(
        instance=opinion, to_status=CustomerOpinion.Status.CLOSED, by=user, note=note.strip(), fields=["closed_at"]
    )
    return opinion


def opinion_follow_case(*, opinion: CustomerOpinion, case, stage: str, by, at: dt.datetime) -> None:
    """Keep a complaint's opinion in step with the case it became (issue 16), inside the case's transaction.

    The case's own service has checked who may act; this only moves the opinion along its table, with a
    history note naming the case: opening the case takes the complaint in hand (acknowledged); closing the
    case, which needs the supervisor's follow-up first (clause 二十八), handles it with the customer's result
    and closes it. A step the opinion has already taken is not taken again.
    """
    opinion = lock_for_update(CustomerOpinion.objects.all(), pk=opinion.pk)
    status = CustomerOpinion.Status
    if stage == "opened":
        if opinion.status == status.NEW:
            note = _("Complaint case %(number)s opened.") % {"number": case.number}
            # Now, not the case's clock: the opinion may have been written a moment after it was read.
            apply_transition(instance=opinion, to_status=status.ACKNOWLEDGED, by=by, note=note, at=timezone.now())
        return
    if stage != "closed" or opinion.status == status.CLOSED:
        return
    note = _("Handled through complaint case %(number)s.") % {"number": case.number}
    if opinion.status != status.RESOLVED:
        opinion.outcome = (case.customer_result or "").strip()[:OPINION_MAX_LENGTH] or note
        opinion.resolved_at, opinion.resolved_by = at, by
        fields = ["outcome", "resolved_at", "resolved_by"]
        if opinion.severity == CustomerOpinion.Severity.SERIOUS and not opinion.letter_number:
            opinion.letter_number = next_number(series=LETTER_SERIES, at=at)
            fields.append("letter_number")
        apply_transition(instance=opinion, to_status=status.RESOLVED, by=by, note=note, fields=fields, at=at)
    opinion.closed_at = at
    apply_transition(instance=opinion, to_status=status.CLOSED, by=by, note=note, fields=["closed_at"], at=at)
