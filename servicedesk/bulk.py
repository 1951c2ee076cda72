"""Bulk actions on list pages: select rows, then assign, close or print them together (issue 16).

Each app registers the actions of its list pages in its ``AppConfig.ready`` (``bulk_register``), as it
registers their exports; the pages show them with ``{% bulk_toolbar "page" %}`` and a checkbox per row
(``{% bulk_checkbox "page" pk %}``), and one URL runs them (``servicedesk.bulk_views``).

An action never has a write path of its own: it calls, for each selected record, the same service a
person's click on that record calls, each in its own transaction, so one refused record (another unit's,
in the wrong state, changed meanwhile) is reported by its number and stops nothing else. What is selected
is read again through the page's scoped selectors: an id the user may not see is not acted on.
"""

from collections.abc import Callable
from dataclasses import dataclass, field

from django.http import HttpResponse
from django.utils.translation import gettext as _

from .exceptions import ApplicationError

# At most this many rows are acted on at once: a page's worth, and a PDF that prints in seconds.
BULK_MAX = 100


@dataclass
class BulkOutcome:
    done: int = 0
    refused: list[str] = field(default_factory=list)  # "RC-2026-000001: why", one per refused record
    response: HttpResponse | None = None  # a document to hand back instead of a message (printing)


@dataclass(frozen=True)
class BulkAction:
    page: str  # the list page's name, as its export's
    name: str  # in the URL
    label: str  # the button
    permission: str  # the user needs it to see the button and to run the action
    run: Callable[..., BulkOutcome]  # run(*, user, ids, data) → BulkOutcome
    # Extra fields the action asks for (the technician to assign): (name, label, choices(user) → [(value, label)])
    fields: tuple = ()
    confirm: str = ""  # a question asked before an action that cannot be undone
    done_message: str = ""  # "%(count)d calls closed."


_ACTIONS: dict[str, dict[str, BulkAction]] = {}


def bulk_register(action: BulkAction) -> BulkAction:
    _ACTIONS.setdefault(action.page, {})[action.name] = action
    return action


def bulk_action(page: str, name: str) -> BulkAction | None:
    return _ACTIONS.get(page, {}).get(name)


def bulk_actions_for(*, page: str, user) -> list[BulkAction]:
    return [action for action in _ACTIONS.get(page, {}).values() if user.has_perm(action.permission)]


def bulk_ids(values) -> list[int]:
    """The selected ids, in the order given, each once; ApplicationError for none, too many or a bad one."""
    ids = []
    for value in values:
        if not str(value).isdigit() or len(str(value)) > 18:
            raise ApplicationError(_("The selection is not valid; reload the page and select again."))
        if int(value) not in ids:
            ids.append(int(value))
    if not ids:
        raise ApplicationError(_("Select at least one row first."))
    if len(ids) > BULK_MAX:
        raise ApplicationError(_("Select at most %(max)d rows at a time.") % {"max": BULK_MAX})
    return ids


def each(records, act: Callable, *, name: Callable = str) -> BulkOutcome:
    """Run ``act(record)`` on every record, each on its own: a refusal is noted by the record's name."""
    outcome = BulkOutcome()
    for record in records:
        try:
            act(record)
        except ApplicationError as exc:
            outcome.refused.append(f"{name(record)}: {exc.message}")
        else:
            outcome.done += 1
    return outcome
