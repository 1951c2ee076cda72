"""What the complaint case page reads that changes seldom, kept per process (issue 17).

Every case page drew the stage deadline table (its progress bar), asked whether the unit's follow-up policy lets
a phone call count (why closing would wait), read the people of its pickers, joined the units, cause category and
people that the case, its returns, its actions and its history name, and read three lists that only grow when
someone works the case: its reminder slips, its attachments, its costs. Those reads are the same from one request
to the next until someone changes them, so each process keeps them (``caches["local"]``) under a token in the
shared cache (servicedesk.generations) that every change replaces, when made and again when its transaction
commits: a copy read before a change is never used after it.

What replaces the token (``kept_changed``, connected in ComplaintsConfig.ready to the saves and deletions of):
the deadline table and its calendars (StageDeadline, WorkingCalendar, WorkingWindow, CalendarException), the
follow-up policies, the people and the units (User, OrgUnit: names, units, whether active; a user's save of
``last_login`` alone, on each log-in, changes nothing kept), the cause categories, the reminder slips, the
attachments, the costs. The one write around those signals, the reminder run's ``bulk_create`` of slips, replaces
it itself (complaints.services.reminders), as the demo's ``update()`` of the deadline table does. A token that is
missing is set anew, never read as "no change". With the shared cache unreachable the page reads the database
(and the process leaves the cache alone for a while); ``KEPT_SECONDS`` bounds how long a change missed in an
outage, or made around the ORM, can go unseen.
"""

from collections import defaultdict

from django.contrib.auth import get_user_model
from django.core.cache import caches
from django.utils import translation

from servicedesk.generations import Generation
from servicedesk.models import CalendarException, OrgUnit, WorkingCalendar, WorkingWindow

from .case_selectors import case_attachments, case_slips, follow_up_methods_that_count
from .models import CaseAttachment, CaseCost, CauseCategory, FollowUpPolicy, ReminderSlip, StageDeadline
from .stages import action_owners, stage_rules

KEPT_SECONDS = 300
NAMESPACE = "case-page"  # the tests give each test its own (the shared cache outlives a test's rolled-back rows)


def _generation_key() -> str:
    return f"{NAMESPACE}:generation"


generation = Generation("complaint case page", _generation_key)


def watched_models() -> tuple:
    """The models whose saves and deletions replace the token (connected in ComplaintsConfig.ready)."""
    return (
        StageDeadline,
        WorkingCalendar,
        WorkingWindow,
        CalendarException,
        FollowUpPolicy,
        get_user_model(),
        OrgUnit,
        CauseCategory,
        ReminderSlip,
        CaseAttachment,
        CaseCost,
    )


# The rows ``name_related`` may take from what is kept: only those whose every change replaces the token.
NAMED_MODELS = ("servicedesk.user", "servicedesk.orgunit", "complaints.causecategory")


def kept_changed(*, sender=None, update_fields=None, **_signal) -> None:
    """Something the case page keeps was saved or deleted: every kept copy is stale, now and once committed."""
    if update_fields is not None and set(update_fields) <= {"last_login"}:
        return  # a log-in: nothing kept shows when someone last logged in
    generation.replace()


class CasePageReads:
    """One request's view of the kept reads: the token read once (one round trip), each read on first use."""

    def __init__(self):
        self.token, _found = generation.current()
        self.local = caches["local"]

    def _kept(self, name: str, read):
        if self.token is None:  # no shared cache, or unreachable: the database answers
            return read()
        key = f"{NAMESPACE}:{self.token}:{name}"
        kept = self.local.get(key)
        if kept is None:
            kept = read()
            self.local.set(key, kept, KEPT_SECONDS)
        return kept

    def rules(self):
        return self._kept("rules", stage_rules)

    def methods_that_count(self, *, unit_id: int) -> set[str]:
        return self._kept(f"methods:{unit_id}", lambda: follow_up_methods_that_count(unit_id=unit_id))

    def people(self, *, case) -> list:
        """The pickers' people (``action_owners``): they depend on the case's unit and responsible department."""
        return self._kept(f"people:{case.unit_id}:{case.responsible_unit_id}", lambda: list(action_owners(case=case)))

    def name_related(self, *groups: tuple[list, tuple[str, ...]]) -> None:
        """The rows that these rows name and were not read with them (people, units, cause categories), set on
        them from the kept copies: one kept entry per related model and set of ids.

        ``groups``: (rows of one model, the names of their foreign keys), e.g. ``([case], CASE_NAMED)``; each
        to one of ``NAMED_MODELS`` (the ruling page names its people and units the same way).
        """
        missing = defaultdict(list)
        for rows, names in groups:
            for name in names if rows else ():
                field = rows[0]._meta.get_field(name)
                if field.related_model._meta.label_lower not in NAMED_MODELS:
                    raise ValueError(f"{field.related_model._meta.label} is not kept by the case page")
                for row in rows:
                    if getattr(row, field.attname) is not None and not field.is_cached(row):
                        missing[field.related_model].append((row, field))
        for model, pairs in missing.items():
            ids = sorted({getattr(row, field.attname) for row, field in pairs})
            found = self._kept(
                f"{model._meta.label_lower}:{','.join(map(str, ids))}",
                lambda model=model, ids=ids: {row.pk: row for row in model._base_manager.filter(pk__in=ids)},
            )
            for row, field in pairs:
                if (related := found.get(getattr(row, field.attname))) is not None:
                    field.set_cached_value(row, related)

    def new_forms_html(self, *, case, draw) -> dict:
        """``draw()``: the case page's unbound forms for new records, drawn; they show the pickers' people (kept
        here, by the case's unit and responsible department) and the labels in the reader's language."""
        language = translation.get_language()
        return self._kept(f"new-forms:{case.unit_id}:{case.responsible_unit_id}:{language}", draw)

    def slips(self, *, case) -> list:
        return self._kept(f"slips:{case.pk}", lambda: case_slips(case=case))

    def attachments(self, *, case) -> list:
        return self._kept(f"attachments:{case.pk}", lambda: case_attachments(case=case))

    def costs(self, *, case) -> list:
        return self._kept(f"costs:{case.pk}", lambda: list(case.costs.all()))
