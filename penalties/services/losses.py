"""A ruled case's loss: provisional while returned goods can be resold, final after the window.

The window opens when the case is ruled and lasts the resale policy's calendar months and days
(one month by default). Resale proceeds entered in the window reduce the loss (at most by the
returned goods' value). A case with no returned goods has nothing to resell: its loss is final
at once. The daily job opens a loss for every newly ruled case and closes every window that has
ended, once per case (the status moves once, under a row lock, and the notice has a unique key).
"""

import calendar
import datetime as dt
from decimal import Decimal

from django.db import transaction
from django.db.models import Q, Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from complaints.models import ComplaintCase, ReturnAllowance
from servicedesk.bounds import require_fits
from servicedesk.exceptions import ApplicationError
from servicedesk.models import Notification
from servicedesk.notifications import absolute_url, notifications_queue, render_notice
from servicedesk.roles import Role
from servicedesk.workflow import apply_transition, lock_for_update

from ..models import CaseLoss, ResaleProceeds, ResaleWindowPolicy
from .audit import audit_record, snapshot

LOSS_FIELDS = ("returned_goods", "allowances", "costs", "resale_proceeds", "status", "window_ends_at")
ZERO = Decimal("0.00")


def add_calendar_months(moment: dt.datetime, months: int) -> dt.datetime:
    """The same local time ``months`` calendar months later (31 January + 1 month = 28/29 February)."""
    local = timezone.localtime(moment)
    index = local.year * 12 + local.month - 1 + months
    year, month = index // 12, index % 12 + 1
    day = min(local.day, calendar.monthrange(year, month)[1])
    return timezone.make_aware(local.replace(tzinfo=None, year=year, month=month, day=day))


def resale_window_end(*, ruled_at: dt.datetime, policy: ResaleWindowPolicy | None = None) -> dt.datetime:
    policy = policy or ResaleWindowPolicy.current()
    return add_calendar_months(ruled_at, policy.months) + dt.timedelta(days=policy.days)


def case_loss_figures(case: ComplaintCase) -> dict:
    """Posted returned goods, posted allowances and other costs of the case (three sums, one query each)."""
    posted = case.returns.filter(status=ReturnAllowance.Status.POSTED).aggregate(
        returned_goods=Sum("amount", filter=Q(kind=ReturnAllowance.Kind.RETURN)),
        allowances=Sum("amount", filter=Q(kind=ReturnAllowance.Kind.ALLOWANCE)),
    )
    costs = case.costs.aggregate(total=Sum("amount"))["total"]
    figures = {
        "returned_goods": posted["returned_goods"] or ZERO,
        "allowances": posted["allowances"] or ZERO,
        "costs": costs or ZERO,
    }
    for name, value in figures.items():
        require_fits(CaseLoss._meta.get_field(name), value)
    return figures


def _has_returned_goods(case: ComplaintCase) -> bool:
    return case.returns.filter(kind=ReturnAllowance.Kind.RETURN).exists()


def _require_ruled(case: ComplaintCase) -> None:
    if not case.is_ruled or case.ruled_at is None:
        raise ApplicationError(_("Penalties follow the ruling: case %(number)s is not ruled yet.") % {"number": case})


@transaction.atomic
def case_loss_open(*, case: ComplaintCase, now=None) -> CaseLoss:
    """The case's loss record, made once (the case is unique); final at once without returned goods."""
    _require_ruled(case)
    existing = CaseLoss.objects.filter(case=case).first()
    if existing is not None:
        return case_loss_refresh(loss_id=existing.pk)
    now = now or timezone.now()
    ends = resale_window_end(ruled_at=case.ruled_at)
    # A window that has ended already is still closed by the job, which tells the GM office.
    final = not _has_returned_goods(case)
    loss = CaseLoss(
        case=case,
        unit_id=case.unit_id,
        window_starts_at=case.ruled_at,
        window_ends_at=ends,
        status=CaseLoss.Status.FINAL if final else CaseLoss.Status.PROVISIONAL,
        finalized_at=now if final else None,
        **case_loss_figures(case),
    )
    CaseLoss.objects.bulk_create([loss], ignore_conflicts=True)
    loss = CaseLoss.objects.get(case=case)
    audit_record(
        actor=None,
        action="loss_open",
        entity="caseloss",
        object_id=loss.pk,
        unit_id=loss.unit_id,
        new=snapshot(loss, LOSS_FIELDS),
    )
    return loss


@transaction.atomic
def case_loss_refresh(*, loss_id: int) -> CaseLoss:
    """While provisional, the figures follow the case (returns posted after the ruling count)."""
    loss = lock_for_update(CaseLoss.objects.select_related("case"), pk=loss_id)
    if loss.is_final:
        return loss
    figures = case_loss_figures(loss.case)
    if any(getattr(loss, name) != value for name, value in figures.items()):
        old = snapshot(loss, LOSS_FIELDS)
        for name, value in figures.items():
            setattr(loss, name, value)
        loss.version += 1
        loss.updated_at = timezone.now()
        loss.save(update_fields=[*figures, "version", "updated_at"])
        audit_record(
            actor=None,
            action="loss_refresh",
            entity="caseloss",
            object_id=loss.pk,
            unit_id=loss.unit_id,
            old=old,
            new=snapshot(loss, LOSS_FIELDS),
        )
    return loss


@transaction.atomic
def resale_proceeds_record(
    *, user, loss_id: int, amount: Decimal, sold_on: dt.date, note: str = "", now=None
) -> ResaleProceeds:
    """Proceeds of reselling the returned goods, accepted only while the window is open."""
    now = now or timezone.now()
    loss = lock_for_update(CaseLoss.objects.all(), pk=loss_id)
    if loss.is_final or now >= loss.window_ends_at:
        raise ApplicationError(_("The resale window has closed: the loss is final."))
    if amount is None or amount <= 0:
        raise ApplicationError(_("Enter an amount above zero."), field="amount")
    if sold_on > timezone.localdate(now) or sold_on < timezone.localdate(loss.window_starts_at):
        raise ApplicationError(_("The goods were sold between the ruling and today."), field="sold_on")
    total = (loss.proceeds.aggregate(total=Sum("amount"))["total"] or ZERO) + amount
    require_fits(CaseLoss._meta.get_field("resale_proceeds"), total, field="amount")
    old = snapshot(loss, LOSS_FIELDS)
    proceeds = ResaleProceeds.objects.create(loss=loss, amount=amount, sold_on=sold_on, note=note, entered_by=user)
    loss.resale_proceeds = total
    loss.version += 1
    loss.updated_at = now
    loss.save(update_fields=["resale_proceeds", "version", "updated_at"])
    audit_record(
        actor=user,
        action="resale_proceeds",
        entity="caseloss",
        object_id=loss.pk,
        unit_id=loss.unit_id,
        old=old,
        new={**snapshot(loss, LOSS_FIELDS), "proceeds": snapshot(proceeds, ("amount", "sold_on", "note"))},
    )
    return proceeds


def case_losses_open_new(*, now=None) -> int:
    """A loss record for every ruled case that has none yet (one query finds them)."""
    now = now or timezone.now()
    cases = ComplaintCase.objects.filter(
        status__in=ComplaintCase.RULED_STATUSES, ruled_at__isnull=False, penalty_loss__isnull=True
    ).order_by("ruled_at")
    opened = 0
    for case in cases.iterator(chunk_size=200):
        case_loss_open(case=case, now=now)
        opened += 1
    return opened


def _gm_office_notices(losses: list[CaseLoss]) -> list[Notification]:
    from django.contrib.auth import get_user_model

    recipients = list(
        get_user_model()
        .objects.filter(is_active=True, groups__name=Role.GM_OFFICE)
        .exclude(email="")
        .order_by("pk")
        .distinct()
    )
    notices = []
    for loss in losses:
        subject, body = render_notice(
            template="penalties/email/loss_final.txt",
            context={"loss": loss, "case": loss.case, "url": absolute_url(loss.get_absolute_url())},
        )
        for user in recipients:
            notices.append(
                Notification(
                    dedupe_key=f"penalties:loss-final:{loss.pk}:{user.pk}",
                    recipient=user,
                    to_email=user.email,
                    subject=subject,
                    body=body,
                )
            )
    return notices


def case_losses_finalize_due(*, now=None, limit: int = 500) -> int:
    """Close every resale window that has ended: the loss becomes final once, the GM office is told once.

    Rows are claimed with SKIP LOCKED, so two runs at once split the work; a row already final is
    not selected again, and a notice's dedupe key is unique, so a repeated run does nothing.
    """
    now = now or timezone.now()
    closed = 0
    while True:
        with transaction.atomic():
            batch = list(
                CaseLoss.objects.select_for_update(skip_locked=True, of=("self",))
                .filter(status=CaseLoss.Status.PROVISIONAL, window_ends_at__lte=now)
                .select_related("case")
                .order_by("window_ends_at", "pk")[:limit]
            )
            if not batch:
                return closed
            for loss in batch:
                old = snapshot(loss, LOSS_FIELDS)
                for name, value in case_loss_figures(loss.case).items():
                    setattr(loss, name, value)
                loss.finalized_at = now
                apply_transition(
                    instance=loss,
                    to_status=CaseLoss.Status.FINAL,
                    by=None,
                    note=_("The resale window closed."),
                    fields=["returned_goods", "allowances", "costs", "finalized_at"],
                    at=now,
                )
                audit_record(
                    actor=None,
                    action="loss_final",
                    entity="caseloss",
                    object_id=loss.pk,
                    unit_id=loss.unit_id,
                    old=old,
                    new=snapshot(loss, LOSS_FIELDS),
                )
            notifications_queue(notices=_gm_office_notices(batch))
            closed += len(batch)
        if len(batch) < limit:
            return closed


def penalties_daily_run(*, now=None) -> dict:
    now = now or timezone.now()
    return {"opened": case_losses_open_new(now=now), "finalized": case_losses_finalize_due(now=now)}
