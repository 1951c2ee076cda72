"""The audit trail as a person reads it: names, local times and labels, not stored codes and ids (issue 16).

An entry keeps its old and new values as JSON (``services/audit.py``): field names, state codes, foreign
keys as ids, times as ISO text. Here each value is shown through its model field: a choice by its label, a
person or a unit by name, any other record by what it is called, a time in local time, a yes/no as words.
The records a page of entries names are read together, one query per kind of record, so a page of entries
costs the same few queries however many it shows.
"""

import datetime as dt
from dataclasses import dataclass

from django.core.exceptions import FieldDoesNotExist
from django.db import models
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime
from django.utils.text import capfirst
from django.utils.translation import gettext_lazy as _

from .models import (
    AuditEntry,
    CaseLoss,
    CriteriaRow,
    CriteriaVersion,
    PenaltyKind,
    PenaltyLine,
    PenaltyRuling,
    ResaleProceeds,
)

ACTIONS = {
    "criteria_row_change": _("Criteria row changed"),
    "criteria_row_delete": _("Criteria row deleted"),
    "criteria_version_change": _("Criteria version changed"),
    "criteria_version_create": _("Criteria version created"),
    "line_adjust": _("Penalty adjusted"),
    "loss_final": _("Loss made final"),
    "loss_open": _("Loss opened"),
    "loss_refresh": _("Loss recalculated"),
    "penalty_kind_change": _("Penalty kind changed"),
    "resale_proceeds": _("Resale proceeds recorded"),
    "ruling_approve": _("Ruling approved"),
    "ruling_cancel": _("Ruling cancelled"),
    "ruling_correct": _("Ruling corrected"),
    "ruling_open": _("Ruling opened"),
    "ruling_propose": _("Ruling proposed"),
    "ruling_reopen": _("Ruling reopened"),
    "shares_set": _("Responsibility shares set"),
}

ENTITIES = {
    "caseloss": CaseLoss,
    "criteriarow": CriteriaRow,
    "criteriaversion": CriteriaVersion,
    "penaltykind": PenaltyKind,
    "penaltyline": PenaltyLine,
    "penaltyruling": PenaltyRuling,
}

# Values written beside a record's own fields (services/rulings.py, losses.py): how each is called, and which
# model's fields the items of a list are.
EXTRA_LABELS = {
    "approved_by": _("approved by"),
    "approved_at": _("approved"),
    "case": _("complaint case"),
    "corrects": _("corrects"),
    "kind": _("kind"),
    "lines": _("penalty lines"),
    "shares": _("responsibility shares"),
    "proceeds": _("resale proceeds"),
}
EXTRA_PERSON_KEYS = {"approved_by"}
LIST_ITEMS = {"lines": PenaltyLine, "shares": PenaltyLine}
NESTED = {"proceeds": ResaleProceeds}

EMPTY = "—"


@dataclass(frozen=True)
class Change:
    label: str
    old: str
    new: str


@dataclass(frozen=True)
class AuditRow:
    entry: AuditEntry
    action: str
    record: str
    changes: list[Change]


def _field(model, name):
    """The model's own field ``name`` (a reverse relation such as a ruling's "lines" is not one)."""
    try:
        field = model._meta.get_field(name)
    except FieldDoesNotExist:
        return None
    return field if field.concrete else None


def _relations(model, values, wanted: dict) -> None:
    """Collect the ids of the records ``values`` (a dict from a snapshot of ``model``) points at."""
    if not isinstance(values, dict):
        return
    for key, value in values.items():
        if key in LIST_ITEMS and isinstance(value, list):
            for item in value:
                _relations(LIST_ITEMS[key], item, wanted)
            continue
        if key in NESTED:
            _relations(NESTED[key], value, wanted)
            continue
        field = _field(model, key) if model else None
        target = None
        if field is not None and field.is_relation and field.many_to_one:
            target = field.related_model
        elif key in EXTRA_PERSON_KEYS:
            target = PenaltyLine._meta.get_field("person").related_model
        if target is not None and isinstance(value, int):
            wanted.setdefault(target, set()).add(value)


def _local(value: str) -> str | None:
    moment = parse_datetime(value) if "T" in value else None
    if moment is not None:
        if timezone.is_naive(moment):
            moment = timezone.make_aware(moment)
        return timezone.localtime(moment).strftime("%Y-%m-%d %H:%M")
    day = parse_date(value) if len(value) == 10 else None
    return day.isoformat() if isinstance(day, dt.date) else None


class _Reader:
    def __init__(self, known: dict):
        self.known = known  # model -> {pk: object}

    def value(self, model, key, value) -> str:
        if value is None or value == "":
            return EMPTY
        if key in LIST_ITEMS and isinstance(value, list):
            return "；".join(self.record_values(LIST_ITEMS[key], item) for item in value) or EMPTY
        if isinstance(value, dict):
            return self.record_values(NESTED.get(key), value)
        field = _field(model, key) if model else None
        if isinstance(value, bool):
            return str(_("yes") if value else _("no"))
        if field is not None and field.choices:
            return str(dict(field.flatchoices).get(value, value))
        related = None
        if field is not None and field.is_relation and field.many_to_one:
            related = field.related_model
        elif key in EXTRA_PERSON_KEYS:
            related = PenaltyLine._meta.get_field("person").related_model
        if related is not None and isinstance(value, int):  # an id; a number written as text is shown as it is
            obj = self.known.get(related, {}).get(value)
            return str(obj) if obj is not None else str(_("(deleted)"))
        if isinstance(value, str) and (
            isinstance(field, models.DateField | models.DateTimeField) or key.endswith(("_at", "_on"))
        ):
            return _local(value) or value
        return str(value)

    def label(self, model, key) -> str:
        field = _field(model, key) if model else None
        if field is not None:
            return str(capfirst(field.verbose_name))
        return str(capfirst(EXTRA_LABELS.get(key, key.replace("_", " "))))

    def record_values(self, model, values) -> str:
        if not isinstance(values, dict):
            return str(values)
        return "，".join(f"{self.label(model, k)}：{self.value(model, k, v)}" for k, v in values.items())

    def changes(self, model, old, new) -> list[Change]:
        old = old if isinstance(old, dict) else {}
        new = new if isinstance(new, dict) else {}
        keys = list(dict.fromkeys([*old, *new]))
        rows = []
        for key in keys:
            before, after = old.get(key), new.get(key)
            if key in old and key in new and before == after:
                continue
            rows.append(
                Change(
                    label=self.label(model, key),
                    old=self.value(model, key, before) if key in old else EMPTY,
                    new=self.value(model, key, after) if key in new else EMPTY,
                )
            )
        return rows


def audit_rows(entries) -> list[AuditRow]:
    """The entries of a page, read for a person: one query per kind of record they name."""
    entries = list(entries)
    wanted: dict = {}
    for entry in entries:
        model = ENTITIES.get(entry.entity)
        _relations(model, entry.old_values, wanted)
        _relations(model, entry.new_values, wanted)
    reader = _Reader({model: model._default_manager.in_bulk(ids) for model, ids in wanted.items()})
    rows = []
    for entry in entries:
        model = ENTITIES.get(entry.entity)
        if entry.ruling_id:
            record = entry.ruling.number
        elif model is not None:
            record = str(capfirst(model._meta.verbose_name))
        else:
            record = EMPTY
        rows.append(
            AuditRow(
                entry=entry,
                action=str(ACTIONS.get(entry.action, capfirst(entry.action.replace("_", " ")))),
                record=record,
                changes=reader.changes(model, entry.old_values, entry.new_values),
            )
        )
    return rows
