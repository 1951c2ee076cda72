"""Each role's own work: the sections of its inbox, their counts (menu badges) and first rows.

A section is one scoped queryset from the app that owns the work (the lower apps' selectors and scoping): its
count is one query and its first rows another, so the menu costs one query per section the user's roles
have, and the page two, however many rows there are. Who sees what is the owning app's scoping: another
unit's work is never counted.
"""

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass

from django.db.models import Exists, OuterRef, Q, QuerySet
from django.shortcuts import redirect
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from complaints import case_selectors
from complaints.models import ComplaintCase, CustomerOpinion, OpinionFollowUp, ReturnAllowance
from penalties.models import PenaltyRuling
from repairs.models import RepairCall, RepairCard, RepairCardDelay
from repairs.selectors import repair_call_queryset
from repairs.selectors_field import card_queryset
from servicedesk.models import Notification
from servicedesk.roles import Role
from servicedesk.scoping import scope_to_user

ROWS = 8


@dataclass(frozen=True)
class Row:
    text: str
    url: str
    when: dt.datetime | None = None
    late: bool = False


@dataclass(frozen=True)
class Section:
    key: str
    label: str
    url_name: str
    queryset: Callable  # (user, now) -> QuerySet of the section's work, in the order it is done
    row: Callable  # (obj, now) -> Row

    def url(self) -> str:
        return reverse(self.url_name)


# --- the work of each section -----------------------------------------------------------------------------


def _todays_calls(user, now) -> QuerySet:
    start_of_day = timezone.localtime(now).replace(hour=0, minute=0, second=0, microsecond=0)
    return (
        repair_call_queryset(user=user)
        .filter(technician=user)
        .filter(Q(status__in=RepairCall.OPEN) | Q(updated_at__gte=start_of_day))
        .select_related("customer")
        .order_by("attend_by", "id")
    )


def _open_calls(user, now) -> QuerySet:
    return _todays_calls(user, now).filter(status__in=RepairCall.OPEN)


def _escalations(user, now) -> QuerySet:
    return (
        scope_to_user(RepairCardDelay.objects.all(), user=user)
        .filter(escalated_at__isnull=False, new_promised_at__isnull=True, card__status__in=RepairCard.OPEN)
        .select_related("card__call__customer")
        .order_by("promised_at", "id")
    )


def _late_cards(user, now) -> QuerySet:
    return (
        card_queryset(user=user)
        .filter(status__in=RepairCard.OPEN, promised_at__lt=now)
        .select_related("call__customer")
        .order_by("promised_at", "id")
    )


def _complaints_to_follow_up(user, now) -> QuerySet:
    if user.unit_id is None:
        return CustomerOpinion.objects.none()
    followed_up = Exists(OpinionFollowUp.objects.filter(opinion=OuterRef("pk")))
    return (
        scope_to_user(CustomerOpinion.objects.all(), user=user)
        .filter(unit_id=user.unit_id, kind=CustomerOpinion.Kind.COMPLAINT)
        .exclude(status=CustomerOpinion.Status.CLOSED)
        .filter(~followed_up)
        .select_related("customer")
        .order_by("received_at", "id")
    )


def _serious_complaints(user, now) -> QuerySet:
    return (
        scope_to_user(CustomerOpinion.objects.all(), user=user)
        .filter(queue=CustomerOpinion.Queue.DEPUTY_GM)
        .exclude(status__in=(CustomerOpinion.Status.RESOLVED, CustomerOpinion.Status.CLOSED))
        .select_related("customer")
        .order_by("received_at", "id")
    )


def _returns_to_post(user, now) -> QuerySet:
    return (
        case_selectors.scope_cases(ReturnAllowance.objects.all(), user=user, prefix="case__")
        .filter(status=ReturnAllowance.Status.CHECKED)
        .select_related("case")
        .order_by("created_at", "id")
    )


def _receivables(user, now) -> QuerySet:
    return case_selectors.flagged_receivables(user=user).exclude(status=ReturnAllowance.Status.POSTED)


def _overdue_stages(user, now) -> QuerySet:
    return case_selectors.overdue_cases(user=user, now=now)


def _reminder_slips(user, now) -> QuerySet:
    return case_selectors.reminder_slip_list(user=user, day=timezone.localdate(now))


def _cases_to_approve(user, now) -> QuerySet:
    return case_selectors.complaint_case_inbox(user=user).filter(status=ComplaintCase.Status.APPROVAL)


def _rulings_to_approve(user, now) -> QuerySet:
    return (
        scope_to_user(PenaltyRuling.objects.all(), user=user)
        .filter(status=PenaltyRuling.Status.PROPOSED)
        .exclude(proposed_by=user)
        .select_related("case")
        .order_by("proposed_at", "id")
    )


def _call_row(call, now):
    return Row(
        f"{call.number} · {call.customer.name} · {call.get_status_display()}",
        reverse("repairs:call_detail", args=[call.pk]),
        call.attend_by,
        late=call.status in RepairCall.OPEN and call.attend_by < now,
    )


def _card_row(card, now):
    return Row(
        f"{card.number} · {card.call.customer.name}",
        reverse("repairs:card_detail", args=[card.pk]),
        card.promised_at,
        late=card.promised_at < now,
    )


def _delay_row(delay, now):
    return _card_row(delay.card, now)


def _opinion_row(opinion, now):
    return Row(
        f"{opinion.get_kind_display()} · {opinion.customer.name} · {opinion.get_severity_display()}",
        reverse("complaints:opinion_detail", args=[opinion.pk]),
        opinion.received_at,
    )


def _case_row(case, now):
    late = case.stage_due_at is not None and case.stage_due_at < now
    return Row(
        f"{case.number} · {case.get_status_display()}",
        reverse("complaints:case_detail", args=[case.pk]),
        case.stage_due_at,
        late=late,
    )


def _return_row(allowance, now):
    return Row(
        f"{allowance.case.number} · {allowance.get_kind_display()} · {allowance.invoice_number}",
        reverse("complaints:case_detail", args=[allowance.case_id]),
        allowance.created_at,
    )


def _slip_row(slip, now):
    return Row(
        f"{slip.display_number} · {slip.case.number}",
        reverse("complaints:reminder_slip_pdf", args=[slip.pk]),
        slip.due_at,
    )


def _ruling_row(ruling, now):
    return Row(
        f"{ruling.number} · {ruling.case.number}",
        reverse("penalties:ruling_detail", args=[ruling.pk]),
        ruling.proposed_at,
    )


SECTIONS = {
    "calls": Section("calls", _("Today's calls"), "repairs:my_calls", _todays_calls, _call_row),
    "escalations": Section("escalations", _("Escalations"), "repairs:supervision", _escalations, _delay_row),
    "late_cards": Section("late_cards", _("Late repair cards"), "repairs:card_list", _late_cards, _card_row),
    "follow_ups": Section(
        "follow_ups", _("Complaints to follow up"), "complaints:opinion_inbox", _complaints_to_follow_up, _opinion_row
    ),
    "returns": Section("returns", _("Returns to post"), "complaints:case_inbox", _returns_to_post, _return_row),
    "receivables": Section(
        "receivables", _("Flagged receivables"), "complaints:receivables", _receivables, _return_row
    ),
    "overdue_stages": Section(
        "overdue_stages", _("Overdue stages"), "complaints:gm_office", _overdue_stages, _case_row
    ),
    "reminder_slips": Section(
        "reminder_slips", _("Reminder slips of today"), "complaints:gm_office", _reminder_slips, _slip_row
    ),
    "serious": Section(
        "serious", _("Serious complaints"), "complaints:opinion_inbox", _serious_complaints, _opinion_row
    ),
    "case_approvals": Section(
        "case_approvals", _("Cases waiting for approval"), "complaints:case_inbox", _cases_to_approve, _case_row
    ),
    "ruling_approvals": Section(
        "ruling_approvals", _("Penalty rulings to approve"), "penalties:ruling_list", _rulings_to_approve, _ruling_row
    ),
}

# Each role's inbox, in the order its work is done. The dispatcher keeps the board (no inbox of its own).
ROLE_SECTIONS = {
    Role.TECHNICIAN: ["calls"],
    Role.SUPERVISOR: ["escalations", "late_cards", "follow_ups"],
    Role.ACCOUNTING: ["returns", "receivables"],
    Role.GM_OFFICE: ["overdue_stages", "reminder_slips"],
    Role.DEPUTY_GM: ["serious", "case_approvals", "ruling_approvals"],
}
# The roles that land on their inbox after login (a technician lands on today's calls, a dispatcher on the board).
INBOX_HOME_ROLES = (Role.SUPERVISOR, Role.ACCOUNTING, Role.GM_OFFICE, Role.DEPUTY_GM)

# The count a section's badge shows: the open work (a technician's finished calls are not work to do).
BADGE_QUERYSETS = {"calls": _open_calls}


def sections_for(user) -> list[Section]:
    keys: list[str] = []
    for role, section_keys in ROLE_SECTIONS.items():
        if user.has_role(role):
            keys += [k for k in section_keys if k not in keys]
    return [SECTIONS[k] for k in keys]


def inbox_counts(*, user, now: dt.datetime | None = None) -> list[tuple[Section, int]]:
    """Each of the user's sections with the count of its open work: one query per section."""
    now = now or timezone.now()
    return [(s, BADGE_QUERYSETS.get(s.key, s.queryset)(user, now).count()) for s in sections_for(user)]


def inbox(*, user, now: dt.datetime | None = None, rows: int = ROWS) -> list[dict]:
    """The inbox page: each section's count and first rows (two queries per section)."""
    now = now or timezone.now()
    page = []
    for section in sections_for(user):
        qs = section.queryset(user, now)
        page.append(
            {
                "section": section,
                "count": BADGE_QUERYSETS.get(section.key, section.queryset)(user, now).count(),
                "rows": [section.row(obj, now) for obj in qs[:rows]],
            }
        )
    return page


def unread_count(*, user) -> int:
    return inapp_notices(user=user).filter(read_at__isnull=True).count()


def inapp_notices(*, user) -> QuerySet:
    """Every notice to the user that can be shown (written out, or rendered by the sweep), e-mailed or not.

    An SMS to the user repeats a notice already here, so it is left out.
    """
    if not (user and user.is_authenticated):
        return Notification.objects.none()
    return (
        Notification.objects.filter(recipient=user)
        .exclude(channel=Notification.Channel.SMS)
        .filter(Q(sent_at__isnull=False) | ~Q(subject=""))
        .order_by("-created_at", "-id")
    )


# --- hooks registered in NotifyConfig.ready -----------------------------------------------------------------


def home_for(request):
    """Where "home" goes: the inbox for the roles that have one to land on; otherwise the default."""
    user = request.user
    if user.is_authenticated and user.has_role(*INBOX_HOME_ROLES):
        return redirect("notify:inbox")
    return None


def navbar_html(request) -> str:
    """The menu's place for the badges and the bell: filled by ``notify:badges`` after the page has loaded.

    The page itself reads nothing for them, so no page pays for the counts (and none of their queries is in
    any page's query budget); the badges' request reads them in a fixed number of queries (``badges``).
    """
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return ""
    return render_to_string("notify/_navbar_slot.html", {}, request=request)


def badges(*, user) -> dict:
    counts = inbox_counts(user=user)
    return {"counts": counts, "total": sum(c for _s, c in counts), "unread": unread_count(user=user)}
