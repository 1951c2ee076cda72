"""The audit trail: every change to a ruling, a share, an approval or the criteria table, as a row.

Rows are only ever inserted (the database refuses UPDATE and DELETE, migration 0002). Values are
kept as JSON: Decimals and dates as text, so the figures read back exactly as they were.
"""

import datetime as dt
from decimal import Decimal

from django.db import models

from ..models import AuditEntry


def json_value(value):
    if value is None or isinstance(value, (bool, int, str)):
        return value
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    if isinstance(value, models.Model):
        return value.pk
    if isinstance(value, dict):
        return {str(k): json_value(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_value(v) for v in value]
    return str(value)


def snapshot(instance: models.Model, fields) -> dict:
    """The named fields' values (foreign keys as ids), ready for JSON."""
    values = {}
    for name in fields:
        field = instance._meta.get_field(name)
        attname = field.attname if field.is_relation else name
        values[name] = json_value(getattr(instance, attname))
    return values


def audit_record(
    *,
    actor,
    action: str,
    entity: str,
    object_id: int | None = None,
    ruling=None,
    unit_id: int | None = None,
    old: dict | None = None,
    new: dict | None = None,
    note: str = "",
) -> AuditEntry:
    return AuditEntry.objects.create(
        actor=actor if (actor is not None and actor.is_authenticated) else None,
        action=action,
        entity=entity,
        object_id=object_id,
        ruling=ruling,
        unit_id=unit_id if unit_id is not None else (ruling.unit_id if ruling is not None else None),
        old_values=json_value(old) if old is not None else None,
        new_values=json_value(new) if new is not None else None,
        note=note,
    )
