"""The one mechanism every workflow uses to change a status.

A service locks the row (``lock_for_update``), checks its own business rules,
then calls ``apply_transition``, which checks the model's ``TRANSITIONS`` table,
saves with ``update_fields`` and writes the ``StatusChange`` row. Side effects
are queued by the service with ``transaction.on_commit``. Nothing else assigns
``.status``.
"""

from django.contrib.contenttypes.models import ContentType
from django.db import models, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from .exceptions import ApplicationError
from .models import StatusChange
from .prepared import PreparedRead


class TransitionNotAllowed(ApplicationError):
    pass


def lock_for_update(queryset: models.QuerySet, *, pk) -> models.Model:
    """Fetch one row with a row lock; must run inside ``transaction.atomic``."""
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("lock_for_update needs an atomic block")
    return queryset.select_for_update(of=("self",)).get(pk=pk)


def check_transition(*, instance, to_status: str) -> None:
    allowed = instance.TRANSITIONS.get(instance.status, ())
    if to_status not in allowed:
        status_cls = type(instance).Status
        raise TransitionNotAllowed(
            _("A %(model)s that is “%(current)s” cannot become “%(target)s”.")
            % {
                "model": instance._meta.verbose_name,
                "current": status_cls(instance.status).label,
                "target": status_cls(to_status).label,
            }
        )


def apply_transition(*, instance, to_status: str, by, note: str = "", fields=(), at=None) -> StatusChange:
    """Move a locked ``instance`` to ``to_status``, saving ``fields`` with it and recording history."""
    check_transition(instance=instance, to_status=to_status)
    from_status = instance.status
    instance.status = to_status
    update_fields = ["status", *fields]
    if hasattr(instance, "version"):
        instance.version += 1
        update_fields.append("version")
    if hasattr(instance, "updated_at"):
        instance.updated_at = timezone.now()
        update_fields.append("updated_at")
    instance.save(update_fields=update_fields)
    return record_status_change(
        instance=instance, from_status=from_status, to_status=to_status, by=by, note=note, at=at
    )


def record_status_change(*, instance, from_status: str, to_status: str, by, note: str = "", at=None) -> StatusChange:
    return StatusChange.objects.create(
        content_type=ContentType.objects.get_for_model(instance),
        object_id=instance.pk,
        from_status=from_status,
        to_status=to_status,
        by=by if (by is not None and by.is_authenticated) else None,
        at=at or timezone.now(),
        note=note,
    )


def history_for(instance) -> models.QuerySet:
    return StatusChange.objects.filter(
        content_type=ContentType.objects.get_for_model(instance), object_id=instance.pk
    ).select_related("by")


_HISTORY = PreparedRead(
    "history",
    lambda *, content_type_id, object_id: StatusChange.objects.filter(
        content_type_id=content_type_id, object_id=object_id
    ).select_related("by"),
)


def history_rows(instance) -> list[StatusChange]:
    """``history_for`` as a list, its query prepared (servicedesk.prepared): for the pages read on every visit."""
    return _HISTORY.fetch(content_type_id=ContentType.objects.get_for_model(instance).pk, object_id=instance.pk)


def histories_for(instances) -> dict[int, list[StatusChange]]:
    """``history_for`` of each of these instances (of one model), in one query: {pk: its rows, in the same order}."""
    instances = list(instances)
    found: dict[int, list[StatusChange]] = {instance.pk: [] for instance in instances}
    if instances:
        rows = StatusChange.objects.filter(
            content_type=ContentType.objects.get_for_model(instances[0]), object_id__in=list(found)
        ).select_related("by")
        for row in rows:
            found[row.object_id].append(row)
    return found
