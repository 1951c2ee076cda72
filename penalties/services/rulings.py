"""Penalty rulings: responsibility shares, the proposal from the criteria table, adjustment, approval.

DOMAIN section 8 and clause 六: the GM office decides by the person and the severity; a manager
approves before any deduction stands; an approved ruling is never edited (a correction is a new,
linked ruling). The arithmetic (shares, rounding to the fen) is in ``penalties.arithmetic``.
"""

from dataclasses import dataclass
from decimal import Decimal

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from complaints.models import ComplaintCase
from servicedesk import events
from servicedesk.bounds import require_fits
from servicedesk.exceptions import ApplicationError
from servicedesk.models import OrgUnit
from servicedesk.numbering import next_number
from servicedesk.roles import Role
from servicedesk.scoping import user_may_act_in_unit
from servicedesk.workflow import apply_transition, lock_for_update

from .. import arithmetic
from ..models import AuditEntry, PenaltyKind, PenaltyLine, PenaltyRuling
from .audit import audit_record, snapshot
from .criteria import criteria_version_in_force
from .losses import case_loss_open, case_loss_refresh

# Sales and service departments attribute a loss to a person as a rule (DOMAIN section 8).
PERSON_FIRST_KINDS = frozenset({OrgUnit.Kind.SERVICE_DEPARTMENT, OrgUnit.Kind.SERVICE_CENTRE, OrgUnit.Kind.BRANCH})
# Ruling numbers: PN-2026-000001 (PR is the repairs pickup receipts' series).
RULING_SERIES = "PN"
# The manager roles that approve a ruling (clause 六).
MANAGER_ROLES = (Role.DEPUTY_GM, Role.DEPARTMENT_HEAD)

SHARE_FIELDS = ("person", "department", "share_percent", "personal_negligence", "unattributable_reason")
LINE_FIELDS = (
    *SHARE_FIELDS,
    "loss_share",
    "criteria_row",
    "penalty_kind",
    "amount_per_unit",
    "base_units",
    "deduction",
    "adjust_reason",
)
RULING_FIELDS = ("status", "loss_amount", "criteria_version", "shares_total", "total_deduction")


@dataclass(frozen=True)
class ShareInput:
    """One responsible party as the GM office enters it: a person or a department, and a percentage."""

    share_percent: Decimal
    person: object = None
    department: object = None
    personal_negligence: bool = False
    unattributable_reason: str = ""


def _locked_ruling(*, user, ruling_id: int, expected_version: int | None = None) -> PenaltyRuling:
    ruling = lock_for_update(PenaltyRuling.objects.all(), pk=ruling_id)
    if not user_may_act_in_unit(user=user, unit_id=ruling.unit_id):
        raise ApplicationError(_("This ruling belongs to another unit."))
    if ruling.is_approved:
        raise ApplicationError(_("An approved ruling never changes; make a correction instead."))
    if expected_version is not None and ruling.version != expected_version:
        raise ApplicationError(_("Someone changed this ruling meanwhile; look at it again."))
    return ruling


def _touch(ruling: PenaltyRuling, *fields: str) -> None:
    ruling.version += 1
    ruling.updated_at = timezone.now()
    ruling.save(update_fields=[*fields, "version", "updated_at"])


def _share_lines(ruling: PenaltyRuling):
    return ruling.lines.filter(reverses__isnull=True).order_by("position", "pk")


def _shares_snapshot(ruling: PenaltyRuling) -> list[dict]:
    return [snapshot(line, SHARE_FIELDS) for line in _share_lines(ruling)]


def default_shares(case: ComplaintCase) -> list[ShareInput]:
    """From the investigation: the responsible person bears it all, else the responsible department."""
    if case.responsible_person_id:
        return [ShareInput(share_percent=Decimal("100"), person=case.responsible_person)]
    if case.responsible_unit_id:
        unit = case.responsible_unit
        reason = _("The investigation named no person.") if unit.kind in PERSON_FIRST_KINDS else ""
        return [ShareInput(share_percent=Decimal("100"), department=unit, unattributable_reason=reason)]
    return []


def _check_shares(shares: list[ShareInput]) -> None:
    if not shares:
        raise ApplicationError(_("Name at least one responsible person or department."))
    problem = arithmetic.shares_problem([s.share_percent for s in shares])
    if problem == "range" or problem == "precision":
        raise ApplicationError(_("Each share is a percentage above 0 and at most 100, to two decimals."))
    if problem == "total":
        raise ApplicationError(
            _("The shares add up to %(total)s %%; they must add up to exactly 100 %%.")
            % {"total": arithmetic.shares_total(s.share_percent for s in shares)}
        )
    parties = set()
    for share in shares:
        if (share.person is None) == (share.department is None):
            raise ApplicationError(_("Each share is either a person's or a department's."))
        key = ("person", share.person.pk) if share.person is not None else ("department", share.department.pk)
        if key in parties:
            raise ApplicationError(_("%(party)s is named twice.") % {"party": share.person or share.department})
        parties.add(key)
        if share.personal_negligence:
            # Personal negligence: the whole loss is allocated to that person.
            if share.person is None or len(shares) != 1 or share.share_percent != 100:
                raise ApplicationError(
                    _("Personal negligence puts the whole loss on that one person: one person at 100 %.")
                )
        if share.department is not None and share.department.kind in PERSON_FIRST_KINDS:
            if not share.unattributable_reason.strip():
                raise ApplicationError(
                    _(
                        "%(unit)s is a sales or service department: name the person, or say why the loss "
                        "cannot be attributed to one."
                    )
                    % {"unit": share.department}
                )


def _write_shares(ruling: PenaltyRuling, shares: list[ShareInput]) -> None:
    _share_lines(ruling).delete()
    start = ruling.lines.count()
    PenaltyLine.objects.bulk_create(
        [
            PenaltyLine(
                ruling=ruling,
                position=start + i,
                person=share.person,
                department=share.department,
                share_percent=share.share_percent,
                personal_negligence=share.personal_negligence,
                unattributable_reason=share.unattributable_reason.strip(),
            )
            for i, share in enumerate(shares)
        ]
    )
    ruling.shares_total = arithmetic.shares_total(s.share_percent for s in shares)


def _case_date(case: ComplaintCase):
    # The version in force on the day the complaint was received applies (never a later table).
    return timezone.localdate(case.received_at)


@transaction.atomic
def ruling_open(*, user, case_id: int, now=None) -> PenaltyRuling:
    """Open the ruling of a ruled case, with the investigation's responsibility as the starting shares."""
    now = now or timezone.now()
    case = lock_for_update(ComplaintCase.objects.select_related("responsible_unit", "responsible_person"), pk=case_id)
    if not user_may_act_in_unit(user=user, unit_id=case.unit_id):
        raise ApplicationError(_("This case belongs to another unit."))
    if not case.is_ruled or case.ruled_at is None:
        raise ApplicationError(_("Penalties follow the ruling: case %(number)s is not ruled yet.") % {"number": case})
    if (
        case.penalty_rulings.filter(kind=PenaltyRuling.Kind.ORIGINAL)
        .exclude(status=PenaltyRuling.Status.CANCELLED)
        .exists()
    ):
        raise ApplicationError(_("Case %(number)s has its ruling already.") % {"number": case})
    case_loss_open(case=case, now=now)
    ruling = PenaltyRuling.objects.create(
        number=next_number(series=RULING_SERIES, at=now),
        case=case,
        unit_id=case.unit_id,
        case_date=_case_date(case),
        cause_category_id=case.cause_category_id,
        opened_by=user,
        opened_at=now,
    )
    shares = default_shares(case)
    if shares:
        _check_shares(shares)
        _write_shares(ruling, shares)
        ruling.save(update_fields=["shares_total"])
    audit_record(
        actor=user,
        action="ruling_open",
        entity="penaltyruling",
        object_id=ruling.pk,
        ruling=ruling,
        new={"case": case.number, "shares": _shares_snapshot(ruling)},
    )
    return ruling


@transaction.atomic
def ruling_set_shares(*, user, ruling_id: int, shares: list[ShareInput], expected_version: int | None = None):
    """Who bears the loss, in shares adding up to exactly 100 % (a draft only)."""
    ruling = _locked_ruling(user=user, ruling_id=ruling_id, expected_version=expected_version)
    if ruling.status != PenaltyRuling.Status.DRAFT or ruling.kind == PenaltyRuling.Kind.REVERSAL:
        raise ApplicationError(_("Shares change on a draft; take the proposal back to draft first."))
    _check_shares(shares)
    old = _shares_snapshot(ruling)
    _write_shares(ruling, shares)
    _touch(ruling, "shares_total")
    audit_record(
        actor=user,
        action="shares_set",
        entity="penaltyruling",
        object_id=ruling.pk,
        ruling=ruling,
        old={"shares": old},
        new={"shares": _shares_snapshot(ruling), "shares_total": ruling.shares_total},
    )
    return ruling


def _explanation(*, line, row, version, loss, cause) -> str:
    upper = row.loss_to if row.loss_to is not None else "∞"
    return _(
        "Criteria in force from %(date)s, row #%(row)s (%(cause)s, loss %(low)s–%(high)s): a share of "
        "%(share)s %% of the loss %(loss)s is %(loss_share)s yuan, in the bracket; %(kind)s, "
        "%(units)s base unit(s) × %(per_unit)s yuan = %(deduction)s yuan (rounded to the fen, half up)."
    ) % {
        "date": version.effective_from.isoformat(),
        "row": row.pk,
        "cause": row.cause_category or _("any cause"),
        "low": row.loss_from,
        "high": upper,
        "share": line.share_percent,
        "loss": loss,
        "loss_share": line.loss_share,
        "kind": row.penalty_kind.name,
        "units": row.base_units,
        "per_unit": row.amount_per_unit,
        "deduction": line.deduction,
    }


@transaction.atomic
def ruling_propose(*, user, ruling_id: int, expected_version: int | None = None, now=None) -> PenaltyRuling:
    """The system's proposal: each party's share of the loss, the criteria row it falls in, its deduction."""
    now = now or timezone.now()
    ruling = _locked_ruling(user=user, ruling_id=ruling_id, expected_version=expected_version)
    if ruling.status != PenaltyRuling.Status.DRAFT:
        raise ApplicationError(_("Only a draft is proposed."))
    case = ComplaintCase.objects.select_related("cause_category").get(pk=ruling.case_id)
    lines = list(_share_lines(ruling).select_related("person", "department"))
    _check_shares(
        [
            ShareInput(
                share_percent=line.share_percent,
                person=line.person,
                department=line.department,
                personal_negligence=line.personal_negligence,
                unattributable_reason=line.unattributable_reason,
            )
            for line in lines
        ]
    )
    loss = case_loss_refresh(loss_id=case_loss_open(case=case, now=now).pk)
    version = criteria_version_in_force(on=ruling.case_date)
    if version is None:
        raise ApplicationError(
            _("No penalty criteria were in force on %(date)s.") % {"date": ruling.case_date.isoformat()}
        )
    rows = list(version.rows.select_related("penalty_kind", "cause_category"))
    cause_id = case.cause_category_id
    for line, loss_share in zip(
        lines, arithmetic.split_loss(loss=loss.amount, shares=[line.share_percent for line in lines]), strict=True
    ):
        line.loss_share = loss_share
        row = arithmetic.choose_row(rows, cause_category_id=cause_id, loss=loss_share)
        if row is None:
            raise ApplicationError(
                _("The criteria in force from %(date)s have no row for %(cause)s and a loss of %(loss)s yuan.")
                % {
                    "date": version.effective_from.isoformat(),
                    "cause": case.cause_category or _("an unclassified cause"),
                    "loss": loss_share,
                }
            )
        line.criteria_row = row
        line.proposed_kind = line.penalty_kind = row.penalty_kind
        line.proposed_amount_per_unit = line.amount_per_unit = row.amount_per_unit
        line.proposed_base_units = line.base_units = row.base_units
        line.deduction = arithmetic.deduction_for(base_units=row.base_units, amount_per_unit=row.amount_per_unit)
        line.proposed_deduction = line.deduction
        line.adjusted_by, line.adjusted_at, line.adjust_reason = None, None, ""
        line.explanation = _explanation(
            line=line, row=row, version=version, loss=loss.amount, cause=case.cause_category
        )
    PenaltyLine.objects.bulk_update(
        lines,
        [
            "loss_share",
            "criteria_row",
            "proposed_kind",
            "proposed_amount_per_unit",
            "proposed_base_units",
            "proposed_deduction",
            "penalty_kind",
            "amount_per_unit",
            "base_units",
            "deduction",
            "explanation",
            "adjusted_by",
            "adjusted_at",
            "adjust_reason",
        ],
    )
    ruling.criteria_version = version
    ruling.cause_category_id = cause_id
    ruling.loss_amount = loss.amount
    ruling.loss_was_final = loss.is_final
    ruling.total_deduction = _sum_of_lines(ruling)
    ruling.proposed_by, ruling.proposed_at = user, now
    apply_transition(
        instance=ruling,
        to_status=PenaltyRuling.Status.PROPOSED,
        by=user,
        fields=[
            "criteria_version",
            "cause_category",
            "loss_amount",
            "loss_was_final",
            "total_deduction",
            "proposed_by",
            "proposed_at",
        ],
    )
    audit_record(
        actor=user,
        action="ruling_propose",
        entity="penaltyruling",
        object_id=ruling.pk,
        ruling=ruling,
        new={**snapshot(ruling, RULING_FIELDS), "lines": [snapshot(line, LINE_FIELDS) for line in lines]},
    )
    return ruling


def _sum_of_lines(ruling: PenaltyRuling) -> Decimal:
    total = sum((line.deduction for line in ruling.lines.all()), Decimal("0.00"))
    require_fits(PenaltyRuling._meta.get_field("total_deduction"), total)
    return total


@transaction.atomic
def ruling_line_adjust(
    *,
    user,
    line_id: int,
    penalty_kind: PenaltyKind,
    base_units: Decimal,
    amount_per_unit: Decimal,
    reason: str,
    expected_version: int | None = None,
) -> PenaltyLine:
    """The GM office decides by the person and the severity: another kind or amount, with a reason."""
    line = PenaltyLine.objects.get(pk=line_id)
    ruling = _locked_ruling(user=user, ruling_id=line.ruling_id, expected_version=expected_version)
    line = PenaltyLine.objects.select_for_update().get(pk=line_id)
    if ruling.status != PenaltyRuling.Status.PROPOSED:
        raise ApplicationError(_("A line is adjusted on a proposed ruling."))
    if line.is_reversal:
        raise ApplicationError(_("A reversal line undoes an approved line exactly; it is not adjusted."))
    if not reason.strip():
        raise ApplicationError(_("Say why the proposal is adjusted."), field="reason")
    if base_units is None or base_units < 0 or amount_per_unit is None or amount_per_unit < 0:
        raise ApplicationError(_("Amounts are not negative."), field="base_units")
    if amount_per_unit < penalty_kind.minimum_per_unit:
        raise ApplicationError(
            _("A %(kind)s deducts at least %(minimum)s yuan per base unit.")
            % {"kind": penalty_kind.name, "minimum": penalty_kind.minimum_per_unit},
            field="amount_per_unit",
        )
    deduction = arithmetic.deduction_for(base_units=base_units, amount_per_unit=amount_per_unit)
    require_fits(PenaltyLine._meta.get_field("deduction"), deduction, field="amount_per_unit")
    old = snapshot(line, LINE_FIELDS)
    line.penalty_kind = penalty_kind
    line.base_units = base_units
    line.amount_per_unit = amount_per_unit
    line.deduction = deduction
    line.adjusted_by, line.adjusted_at, line.adjust_reason = user, timezone.now(), reason.strip()
    line.save(
        update_fields=[
            "penalty_kind",
            "base_units",
            "amount_per_unit",
            "deduction",
            "adjusted_by",
            "adjusted_at",
            "adjust_reason",
        ]
    )
    ruling.total_deduction = _sum_of_lines(ruling)
    _touch(ruling, "total_deduction")
    audit_record(
        actor=user,
        action="line_adjust",
        entity="penaltyline",
        object_id=line.pk,
        ruling=ruling,
        old=old,
        new=snapshot(line, LINE_FIELDS),
        note=reason.strip(),
    )
    return line


@transaction.atomic
def ruling_reopen(*, user, ruling_id: int, expected_version: int | None = None) -> PenaltyRuling:
    """Back to draft to change the shares; the proposal and any adjustment are made again."""
    ruling = _locked_ruling(user=user, ruling_id=ruling_id, expected_version=expected_version)
    if ruling.kind == PenaltyRuling.Kind.REVERSAL:
        raise ApplicationError(_("A reversal has no shares to change; cancel it instead."))
    old = snapshot(ruling, RULING_FIELDS)
    _share_lines(ruling).update(
        criteria_row=None,
        proposed_kind=None,
        proposed_amount_per_unit=None,
        proposed_base_units=None,
        proposed_deduction=None,
        penalty_kind=None,
        amount_per_unit=None,
        base_units=None,
        deduction=Decimal("0.00"),
        loss_share=Decimal("0.00"),
        explanation="",
        adjusted_by=None,
        adjusted_at=None,
        adjust_reason="",
    )
    ruling.total_deduction = _sum_of_lines(ruling)
    apply_transition(instance=ruling, to_status=PenaltyRuling.Status.DRAFT, by=user, fields=["total_deduction"])
    audit_record(
        actor=user,
        action="ruling_reopen",
        entity="penaltyruling",
        object_id=ruling.pk,
        ruling=ruling,
        old=old,
        new=snapshot(ruling, RULING_FIELDS),
    )
    return ruling


@transaction.atomic
def ruling_cancel(*, user, ruling_id: int, reason: str, expected_version: int | None = None) -> PenaltyRuling:
    ruling = _locked_ruling(user=user, ruling_id=ruling_id, expected_version=expected_version)
    if not reason.strip():
        raise ApplicationError(_("Say why the ruling is cancelled."), field="reason")
    old = snapshot(ruling, RULING_FIELDS)
    apply_transition(instance=ruling, to_status=PenaltyRuling.Status.CANCELLED, by=user, note=reason.strip())
    audit_record(
        actor=user,
        action="ruling_cancel",
        entity="penaltyruling",
        object_id=ruling.pk,
        ruling=ruling,
        old=old,
        new=snapshot(ruling, RULING_FIELDS),
        note=reason.strip(),
    )
    return ruling


def approval_refusal(*, user, ruling: PenaltyRuling) -> str | None:
    """Why ``user`` may not approve ``ruling`` (None if they may): the four-eyes rule of clause 六."""
    if not user.has_role(*MANAGER_ROLES) and not user.is_superuser:
        return _("A manager approves penalty rulings.")
    # Everyone who had a hand in the ruling (opened it, set shares, proposed, adjusted, corrected).
    hands = set(AuditEntry.objects.filter(ruling=ruling, actor__isnull=False).values_list("actor_id", flat=True)) | {
        ruling.opened_by_id,
        ruling.proposed_by_id,
    }
    if "lines" in getattr(ruling, "_prefetched_objects_cache", {}):  # the ruling's page has its lines already
        lines = ruling.lines.all()
        hands |= {line.adjusted_by_id for line in lines if line.adjusted_by_id is not None}
        penalised = any(line.person_id == user.pk for line in lines)
    else:
        hands |= set(ruling.lines.filter(adjusted_by__isnull=False).values_list("adjusted_by_id", flat=True))
        penalised = None
    if ruling.proposed_by_id == user.pk:
        return _("You proposed this ruling; another manager approves it.")
    if user.pk in hands:
        return _("You prepared or adjusted this ruling; another manager approves it.")
    if penalised is None:
        penalised = ruling.lines.filter(person=user).exists()
    if penalised:
        return _("You are penalised by this ruling; another manager approves it.")
    return None


@transaction.atomic
def ruling_approve(*, user, ruling_id: int, expected_version: int | None = None, now=None) -> PenaltyRuling:
    """A manager approves; from then on the ruling and its lines never change."""
    now = now or timezone.now()
    ruling = _locked_ruling(user=user, ruling_id=ruling_id, expected_version=expected_version)
    if ruling.status != PenaltyRuling.Status.PROPOSED:
        raise ApplicationError(_("Only a proposed ruling is approved."))
    refusal = approval_refusal(user=user, ruling=ruling)
    if refusal:
        raise ApplicationError(refusal)
    if ruling.kind != PenaltyRuling.Kind.REVERSAL:
        loss = case_loss_refresh(loss_id=ruling.case.penalty_loss.pk)
        if not loss.is_final:
            raise ApplicationError(
                _("The loss is provisional until the resale window closes on %(date)s.")
                % {"date": timezone.localtime(loss.window_ends_at).strftime("%Y-%m-%d %H:%M")}
            )
        if loss.amount != ruling.loss_amount:
            raise ApplicationError(
                _("The loss is now %(now)s yuan, not the %(then)s yuan proposed from; propose again.")
                % {"now": loss.amount, "then": ruling.loss_amount}
            )
    if ruling.corrects_id:
        corrected = PenaltyRuling.objects.get(pk=ruling.corrects_id)
        if not corrected.is_approved:
            raise ApplicationError(_("The ruling this corrects is not approved."))
    if ruling.total_deduction != _sum_of_lines(ruling):
        raise ApplicationError(_("The total does not match the lines; propose again."))
    old = snapshot(ruling, RULING_FIELDS)
    ruling.approved_by, ruling.approved_at = user, now
    apply_transition(
        instance=ruling, to_status=PenaltyRuling.Status.APPROVED, by=user, fields=["approved_by", "approved_at"], at=now
    )
    audit_record(
        actor=user,
        action="ruling_approve",
        entity="penaltyruling",
        object_id=ruling.pk,
        ruling=ruling,
        old=old,
        new={**snapshot(ruling, RULING_FIELDS), "approved_by": user.pk, "approved_at": now},
    )
    events.event_emit(
        events.PENALTY_APPROVED,
        object_type="penalty_ruling",
        object_id=ruling.pk,
        unit_id=ruling.unit_id,
        data={
            "number": ruling.number,
            "kind": ruling.kind,
            "case_id": ruling.case_id,
            "total_deduction": str(ruling.total_deduction),
        },
        at=now,
    )
    return ruling


@transaction.atomic
def ruling_correct(*, user, ruling_id: int, kind: str, reason: str, now=None) -> PenaltyRuling:
    """A correction of an approved ruling: a new ruling that reverses its lines (and, to amend, restates them).

    The reversal lines are exact negatives of the corrected ruling's standing lines, so the ledger
    (which adds every approved line) nets the old penalties out in the month the correction is approved.
    """
    now = now or timezone.now()
    if kind not in (PenaltyRuling.Kind.REVERSAL, PenaltyRuling.Kind.AMENDMENT):
        raise ApplicationError(_("A correction reverses or amends."), field="kind")
    if not reason.strip():
        raise ApplicationError(_("Say why the ruling is corrected."), field="reason")
    corrected = lock_for_update(PenaltyRuling.objects.all(), pk=ruling_id)
    if not user_may_act_in_unit(user=user, unit_id=corrected.unit_id):
        raise ApplicationError(_("This ruling belongs to another unit."))
    if not corrected.is_approved:
        raise ApplicationError(_("Only an approved ruling is corrected; change the proposal instead."))
    if corrected.corrections.exclude(status=PenaltyRuling.Status.CANCELLED).exists():
        raise ApplicationError(_("This ruling has a correction already; correct that one."))
    ruling = PenaltyRuling.objects.create(
        number=next_number(series=RULING_SERIES, at=now),
        case_id=corrected.case_id,
        unit_id=corrected.unit_id,
        kind=kind,
        corrects=corrected,
        reason=reason.strip(),
        case_date=corrected.case_date,
        cause_category_id=corrected.cause_category_id,
        criteria_version_id=corrected.criteria_version_id,
        loss_amount=corrected.loss_amount,
        loss_was_final=corrected.loss_was_final,
        opened_by=user,
        opened_at=now,
    )
    standing = list(_share_lines(corrected))
    reversals = []
    for position, line in enumerate(standing):
        reversals.append(
            PenaltyLine(
                ruling=ruling,
                position=position,
                person_id=line.person_id,
                department_id=line.department_id,
                share_percent=line.share_percent,
                personal_negligence=line.personal_negligence,
                unattributable_reason=line.unattributable_reason,
                loss_share=-line.loss_share,
                criteria_row_id=line.criteria_row_id,
                penalty_kind_id=line.penalty_kind_id,
                amount_per_unit=line.amount_per_unit,
                base_units=line.base_units,
                deduction=-line.deduction,
                explanation=_("Reverses line %(line)s of %(ruling)s.") % {"line": line.pk, "ruling": corrected},
                reverses=line,
            )
        )
    PenaltyLine.objects.bulk_create(reversals)
    if kind == PenaltyRuling.Kind.AMENDMENT:
        # The amendment starts from the standing shares; the GM office changes them and proposes again.
        _write_shares(
            ruling,
            [
                ShareInput(
                    share_percent=line.share_percent,
                    person=line.person,
                    department=line.department,
                    personal_negligence=line.personal_negligence,
                    unattributable_reason=line.unattributable_reason,
                )
                for line in standing
            ],
        )
    ruling.total_deduction = _sum_of_lines(ruling)
    ruling.save(update_fields=["shares_total", "total_deduction"])
    audit_record(
        actor=user,
        action="ruling_correct",
        entity="penaltyruling",
        object_id=ruling.pk,
        ruling=ruling,
        old={"corrects": corrected.number},
        new={"kind": kind, **snapshot(ruling, RULING_FIELDS)},
        note=reason.strip(),
    )
    if kind == PenaltyRuling.Kind.REVERSAL:
        ruling.proposed_by, ruling.proposed_at = user, now
        apply_transition(
            instance=ruling,
            to_status=PenaltyRuling.Status.PROPOSED,
            by=user,
            note=reason.strip(),
            fields=["proposed_by", "proposed_at"],
        )
    return ruling


__all__ = [
    "MANAGER_ROLES",
    "PERSON_FIRST_KINDS",
    "ShareInput",
    "approval_refusal",
    "default_shares",
    "ruling_approve",
    "ruling_cancel",
    "ruling_correct",
    "ruling_line_adjust",
    "ruling_open",
    "ruling_propose",
    "ruling_reopen",
    "ruling_set_shares",
]
