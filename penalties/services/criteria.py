"""Keeping the penalty criteria table: versions with effective dates, never edited once in force.

Administrators keep the table in the admin site, whose saves come here. A version already in
force (its date has come) or used by a ruling is history: its rows are refused any change, and a
change to the table is a new version in force from today or a later day. No version may start in
the past, so which version was in force on a past day never changes either.
"""

import datetime as dt

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from servicedesk.exceptions import ApplicationError

from ..models import CriteriaRow, CriteriaVersion, PenaltyKind
from .audit import audit_record, snapshot

ROW_FIELDS = (
    "version",
    "cause_category",
    "loss_from",
    "loss_to",
    "penalty_kind",
    "amount_per_unit",
    "base_units",
    "note",
)
KIND_FIELDS = ("code", "name", "severity", "minimum_per_unit", "is_active")


def criteria_version_in_force(*, on: dt.date) -> CriteriaVersion | None:
    """The version in force on the day ``on``: the latest to take effect on or before it."""
    return CriteriaVersion.objects.filter(effective_from__lte=on).order_by("-effective_from").first()


def _refuse_if_locked(version: CriteriaVersion, *, today: dt.date) -> None:
    if version.is_locked(today=today):
        raise ApplicationError(
            _(
                "The criteria version in force from %(date)s is already in force or used by a ruling; "
                "make a new version instead of changing it."
            )
            % {"date": version.effective_from.isoformat()}
        )


def _check_row(row: CriteriaRow) -> None:
    if row.loss_to is not None and row.loss_to <= row.loss_from:
        raise ApplicationError(_("The loss bracket must end above where it starts."), field="loss_to")
    kind = row.penalty_kind
    if row.amount_per_unit < kind.minimum_per_unit:
        # The standard: one minor demerit deducts at least 800 yuan per base unit.
        raise ApplicationError(
            _("A %(kind)s deducts at least %(minimum)s yuan per base unit.")
            % {"kind": kind.name, "minimum": kind.minimum_per_unit},
            field="amount_per_unit",
        )
    others = CriteriaRow.objects.filter(version_id=row.version_id, cause_category_id=row.cause_category_id)
    if row.pk:
        others = others.exclude(pk=row.pk)
    for other in others:
        overlaps = (other.loss_to is None or row.loss_from < other.loss_to) and (
            row.loss_to is None or other.loss_from < row.loss_to
        )
        if overlaps:
            raise ApplicationError(
                _("The loss bracket overlaps another row of this version for the same cause (%(row)s).")
                % {"row": other},
                field="loss_from",
            )


@transaction.atomic
def criteria_version_create(
    *,
    user,
    effective_from: dt.date,
    note: str = "",
    copy_from: CriteriaVersion | None = None,
    copy_rows: bool = True,
    today=None,
) -> CriteriaVersion:
    """A new version from ``effective_from`` (today or later), starting with a copy of another's rows.

    Without ``copy_from`` the rows of the version in force today are copied (unless ``copy_rows`` is off).
    """
    today = today or timezone.localdate()
    if effective_from < today:
        raise ApplicationError(
            _("A new version takes effect today or later; the past stays as it was ruled."), field="effective_from"
        )
    if CriteriaVersion.objects.filter(effective_from=effective_from).exists():
        raise ApplicationError(_("A version already takes effect on that day."), field="effective_from")
    if copy_from is None and copy_rows:
        copy_from = criteria_version_in_force(on=today)
    version = CriteriaVersion.objects.create(effective_from=effective_from, note=note, created_by=user)
    rows = []
    if copy_from is not None:
        for row in copy_from.rows.all():
            row.pk = None
            row.version = version
            rows.append(row)
        CriteriaRow.objects.bulk_create(rows)
    audit_record(
        actor=user,
        action="criteria_version_create",
        entity="criteriaversion",
        object_id=version.pk,
        new={
            **snapshot(version, ("effective_from", "note")),
            "copied_from": copy_from.pk if copy_from else None,
            "rows": [snapshot(r, ROW_FIELDS) for r in rows],
        },
    )
    return version


@transaction.atomic
def criteria_version_update(*, user, version: CriteriaVersion, effective_from: dt.date, note: str, today=None):
    today = today or timezone.localdate()
    current = CriteriaVersion.objects.select_for_update().get(pk=version.pk)
    _refuse_if_locked(current, today=today)
    if effective_from < today:
        raise ApplicationError(_("A version takes effect today or later."), field="effective_from")
    old = snapshot(current, ("effective_from", "note"))
    current.effective_from, current.note = effective_from, note
    current.save(update_fields=["effective_from", "note"])
    audit_record(
        actor=user,
        action="criteria_version_change",
        entity="criteriaversion",
        object_id=current.pk,
        old=old,
        new=snapshot(current, ("effective_from", "note")),
    )
    return current


@transaction.atomic
def criteria_row_save(*, user, row: CriteriaRow, today=None) -> CriteriaRow:
    """Add or change a row of a version not yet in force."""
    today = today or timezone.localdate()
    version = CriteriaVersion.objects.select_for_update().get(pk=row.version_id)
    _refuse_if_locked(version, today=today)
    old = None
    if row.pk:
        before = CriteriaRow.objects.get(pk=row.pk)
        if before.version_id != row.version_id:
            raise ApplicationError(_("A row stays in its version."))
        old = snapshot(before, ROW_FIELDS)
    _check_row(row)
    row.save()
    audit_record(
        actor=user,
        action="criteria_row_change" if old else "criteria_row_add",
        entity="criteriarow",
        object_id=row.pk,
        old=old,
        new=snapshot(row, ROW_FIELDS),
    )
    return row


@transaction.atomic
def criteria_version_save_rows(*, user, version: CriteriaVersion, saved: list, deleted: list, today=None) -> None:
    """Save a version's edited rows at once (the admin's inline table); brackets are checked on the result."""
    today = today or timezone.localdate()
    version = CriteriaVersion.objects.select_for_update().get(pk=version.pk)
    _refuse_if_locked(version, today=today)
    for row in deleted:
        if row.pk:
            old = snapshot(row, ROW_FIELDS)
            pk = row.pk
            row.delete()
            audit_record(actor=user, action="criteria_row_delete", entity="criteriarow", object_id=pk, old=old)
    for row in saved:
        row.version = version
        old = snapshot(CriteriaRow.objects.get(pk=row.pk), ROW_FIELDS) if row.pk else None
        if row.loss_to is not None and row.loss_to <= row.loss_from:
            raise ApplicationError(_("The loss bracket must end above where it starts."), field="loss_to")
        if row.amount_per_unit < row.penalty_kind.minimum_per_unit:
            raise ApplicationError(
                _("A %(kind)s deducts at least %(minimum)s yuan per base unit.")
                % {"kind": row.penalty_kind.name, "minimum": row.penalty_kind.minimum_per_unit},
                field="amount_per_unit",
            )
        row.save()
        audit_record(
            actor=user,
            action="criteria_row_change" if old else "criteria_row_add",
            entity="criteriarow",
            object_id=row.pk,
            old=old,
            new=snapshot(row, ROW_FIELDS),
        )
    for row in version.rows.all():
        _check_row(row)


@transaction.atomic
def criteria_row_delete(*, user, row: CriteriaRow, today=None) -> None:
    today = today or timezone.localdate()
    version = CriteriaVersion.objects.select_for_update().get(pk=row.version_id)
    _refuse_if_locked(version, today=today)
    old = snapshot(row, ROW_FIELDS)
    pk = row.pk
    row.delete()
    audit_record(actor=user, action="criteria_row_delete", entity="criteriarow", object_id=pk, old=old)


@transaction.atomic
def penalty_kind_save(*, user, kind: PenaltyKind) -> PenaltyKind:
    """Kinds are kept by name and minimum; a changed minimum applies to rows and adjustments from now on."""
    old = snapshot(PenaltyKind.objects.get(pk=kind.pk), KIND_FIELDS) if kind.pk else None
    kind.save()
    audit_record(
        actor=user,
        action="penalty_kind_change" if old else "penalty_kind_add",
        entity="penaltykind",
        object_id=kind.pk,
        old=old,
        new=snapshot(kind, KIND_FIELDS),
    )
    return kind
