"""Every change to repair calls, customers, sites and products happens here (view → form → service)."""

import datetime as dt
from dataclasses import dataclass
from functools import partial

from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models import prefetch_related_objects
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from servicedesk import events
from servicedesk.exceptions import ApplicationError
from servicedesk.models import Notification
from servicedesk.notifications import absolute_url, notifications_queue, render_notice, users_with_role_by_unit
from servicedesk.numbering import next_number
from servicedesk.roles import Role
from servicedesk.scoping import user_may_act_in_unit
from servicedesk.workflow import apply_transition, lock_for_update, record_status_change

from ..board_cache import board_changed
from ..deadlines import attend_by_for
from ..models import Customer, Product, RegisterEntry, RepairCall, Site, Visit, Zone
from ..notices import CALL_OVERDUE
from ..visit_rules import visits_without_signature
from .coverage import call_cover_when_written

# A clock a few minutes ahead on a phone is not an error; more than this is.
CLOCK_TOLERANCE = dt.timedelta(minutes=5)
# Channels through which a customer's call reaches the board with nobody at the desk (``user=None``).
SELF_SERVICE_CHANNELS = (RepairCall.Channel.EMAIL,)


def _require(user, perm: str, *, unit_id: int) -> None:
    if user is None or not user.has_perm(perm):
        raise ApplicationError(_("You are not allowed to do this."))
    if not user_may_act_in_unit(user=user, unit_id=unit_id):
        raise ApplicationError(_("This record belongs to another unit."))


def _board_changed(call: RepairCall) -> None:
    """The unit's dispatch board shows the change at its next refresh (board_cache): now, and after commit."""
    board_changed(unit_id=call.unit_id)
    transaction.on_commit(partial(board_changed, unit_id=call.unit_id))


def _transition_call(*, instance: RepairCall, **kwargs) -> None:
    apply_transition(instance=instance, **kwargs)
    _board_changed(instance)


def call_event_data(call: RepairCall) -> dict:
    """What an event about a call says of it (``servicedesk.events``): codes and ISO times, no names."""
    return {
        "number": call.number,
        "status": call.status,
        "channel": call.channel,
        "coverage": call.coverage,
        "customer_id": call.customer_id,
        "technician_id": call.technician_id,
        "attend_by": call.attend_by.isoformat() if call.attend_by else None,
    }


def call_event(name: str, call: RepairCall) -> None:
    events.event_emit(
        name, object_type="repair_call", object_id=call.pk, unit_id=call.unit_id, data=call_event_data(call)
    )


def _lock_call(*, call_id: int, expected_version: int | None) -> RepairCall:
    call = lock_for_update(RepairCall.objects.all(), pk=call_id)
    if expected_version is not None and call.version != expected_version:
        raise ApplicationError(
            _("Call %(number)s was changed by someone else a moment ago (now “%(status)s”). Reload and try again.")
            % {"number": call.number, "status": call.get_status_display()}
        )
    return call


@dataclass(frozen=True)
class NewCustomer:
    name: str
    phone: str
    email: str = ""
    address: str = ""


@dataclass(frozen=True)
class NewSite:
    address: str
    zone: Zone


@dataclass(frozen=True)
class NewProduct:
    model: str
    serial_number: str
    warranty_end: dt.date | None = None


@transaction.atomic
def repair_call_log(
    *,
    user,
    unit,
    received_at: dt.datetime,
    contact_name: str,
    contact_phone: str,
    problem: str,
    channel: str = RepairCall.Channel.PHONE,
    coverage: str = RepairCall.Coverage.UNKNOWN,
    customer: Customer | None = None,
    new_customer: NewCustomer | None = None,
    site: Site | None = None,
    new_site: NewSite | None = None,
    product: Product | None = None,
    new_product: NewProduct | None = None,
    now: dt.datetime | None = None,
    attend_by: dt.datetime | None = None,
    appointment_at: dt.datetime | None = None,
    submitted_by_customer: Customer | None = None,
) -> RepairCall:
    """Clause 八: log a customer's repair call and compute its dispatch deadline (clause 十九).

    ``attend_by`` and ``appointment_at`` are for planned work (contracts' maintenance visits), whose
    deadline is the end of the planned day rather than the zone's response hours.

    ``submitted_by_customer`` is the customer logging their own call (the customer portal) instead of a
    staff ``user``: only for one of their own sites and products, received the moment it is submitted.
    ``user`` is None too for a call that reached the board by itself through a self-service channel
    (``SELF_SERVICE_CHANNELS``: inbound e-mail).
    """
    if unit is None:  # a user with no unit owns nothing, so has nowhere to log a call
        raise ApplicationError(_("Your account belongs to no unit, so you cannot log calls. Ask an administrator."))
    now = now or timezone.now()
    if submitted_by_customer is not None:
        _check_customer_submission(
            customer=submitted_by_customer,
            user=user,
            unit=unit,
            chosen=customer,
            new_records=(new_customer, new_site, new_product, attend_by),
        )
        # Clause 十九 counts from the call: for a customer's own submission that is the moment it arrives.
        received_at = now
    elif user is not None:
        _require(user, "repairs.log_call", unit_id=unit.pk)
    elif channel not in SELF_SERVICE_CHANNELS:
        # No person behind it: only a channel the customer uses alone (an e-mail read from the mailbox) logs
        # a call by itself, with every other rule here the same; a call typed at the desk always has its clerk.
        raise ApplicationError(_("You are not allowed to do this."))
    if received_at > now + CLOCK_TOLERANCE:
        raise ApplicationError(_("The call cannot be received in the future."), field="received_at")

    if (customer is None) == (new_customer is None):
        raise ApplicationError(_("Choose an existing customer or enter a new one."), field="customer")
    if customer is None:
        customer = Customer.objects.create(unit=unit, **new_customer.__dict__)
    elif customer.unit_id != unit.pk:
        raise ApplicationError(_("This customer belongs to another unit."), field="customer")

    if (site is None) == (new_site is None):
        raise ApplicationError(_("Choose the customer's site or enter a new address."), field="site")
    if site is None:
        if not new_site.zone.is_active:
            raise ApplicationError(_("This zone is no longer in use."), field="zone")
        site = Site.objects.create(customer=customer, address=new_site.address, zone=new_site.zone)
    elif site.customer_id != customer.pk:
        raise ApplicationError(_("This site belongs to another customer."), field="site")

    if product is None and new_product is not None:
        if Product.objects.filter(serial_number=new_product.serial_number).exists():
            raise ApplicationError(_("A product with this serial number is already registered."), field="serial_number")
        product = Product.objects.create(customer=customer, site=site, **new_product.__dict__)
    elif product is not None and product.customer_id != customer.pk:
        raise ApplicationError(_("This product belongs to another customer."), field="product")

    zone = _zone_with_calendar(site)
    attend_by = attend_by_for(zone=zone, received_at=received_at) if attend_by is None else attend_by
    # DOMAIN 1: a call that reaches the desk after its deadline keeps its true time: it is overdue from the
    # start (the overdue check notices it once, like any other) and marked "logged late" with who logged it.
    logged_late = attend_by < now
    if (
        coverage == RepairCall.Coverage.UNKNOWN
        and product is not None
        and product.in_warranty_on(timezone.localtime(received_at).date())
    ):
        coverage = RepairCall.Coverage.WARRANTY
    # DOMAIN 4: a maintenance contract makes the call free (decided by the INSERT below: one query fewer).
    if coverage == RepairCall.Coverage.UNKNOWN:
        coverage = call_cover_when_written(product=product, site=site, on=timezone.localtime(received_at).date())

    call = RepairCall.objects.create(
        number=next_number(series="RC", at=received_at),
        unit=unit,
        customer=customer,
        site=site,
        product=product,
        contact_name=contact_name,
        contact_phone=contact_phone,
        channel=channel,
        coverage=coverage,
        problem=problem,
        received_at=received_at,
        zone=zone,
        attend_by=attend_by,
        appointment_at=appointment_at,
        logged_late=logged_late,
        logged_late_by=user if logged_late else None,
        created_by=user,
        created_at=now,
        updated_at=now,
    )
    note = ""
    if submitted_by_customer is not None:
        note = _("Submitted by the customer's contact %(contact)s.") % {"contact": contact_name}
    if logged_late:
        note = _("Logged late: the deadline (%(deadline)s) had already passed when the call reached the desk.") % {
            "deadline": timezone.localtime(attend_by).strftime("%Y-%m-%d %H:%M")
        }
    record_status_change(instance=call, from_status="", to_status=call.status, by=user, at=now, note=note)
    _board_changed(call)
    call_event(events.CALL_LOGGED, call)
    return call


def _zone_with_calendar(site: Site) -> Zone:
    """The site's zone with its working calendar's windows and exceptions (the deadline reads them): as the
    site came (the call-log form reads it with its zone and calendar), or read here."""
    zone = site._state.fields_cache.get("zone")
    if zone is None or zone.pk != site.zone_id or (zone.calendar_id and "calendar" not in zone._state.fields_cache):
        return (
            Zone.objects.select_related("calendar")
            .prefetch_related("calendar__windows", "calendar__exceptions")
            .get(pk=site.zone_id)
        )
    if zone.calendar is not None:
        prefetch_related_objects([zone.calendar], "windows", "exceptions")
    return zone


def _check_customer_submission(*, customer: Customer, user, unit, chosen, new_records) -> None:
    """A customer logs a call for themselves only: no staff user, their own unit, nothing new created."""
    if user is not None:
        raise ApplicationError(_("A call is either logged by staff or submitted by the customer, not both."))
    if chosen is None or chosen.pk != customer.pk or unit.pk != customer.unit_id:
        raise ApplicationError(_("This customer belongs to another unit."), field="customer")
    if any(value is not None for value in new_records):
        raise ApplicationError(_("Choose one of your own sites and products."), field="site")


def active_technicians():
    return (
        get_user_model().objects.filter(is_active=True, groups__name=Role.TECHNICIAN).order_by("first_name", "username")
    )


def technicians_of_unit(*, unit_id: int):
    return active_technicians().filter(unit_id=unit_id)


@transaction.atomic
def repair_call_dispatch(
    *, user, call_id: int, technician, expected_version: int | None = None, reason: str = ""
) -> RepairCall:
    """Assign a technician of the call's unit; a second assignment is a reassignment and needs a reason."""
    call = _lock_call(call_id=call_id, expected_version=expected_version)
    _require(user, "repairs.dispatch_call", unit_id=call.unit_id)
    if not technicians_of_unit(unit_id=call.unit_id).filter(pk=technician.pk).exists():
        raise ApplicationError(_("Choose an active technician of the call's unit."), field="technician")
    reassigning = call.status == RepairCall.Status.DISPATCHED
    if reassigning:
        if technician.pk == call.technician_id:
            raise ApplicationError(_("This technician is already assigned."), field="technician")
        if not reason.strip():
            raise ApplicationError(_("Give the reason for reassigning the call."), field="reason")
        note = _("Reassigned from %(old)s to %(new)s: %(reason)s") % {
            "old": call.technician,
            "new": technician,
            "reason": reason.strip(),
        }
    else:
        note = _("Assigned to %(technician)s") % {"technician": technician}
        if reason.strip():
            note = f"{note}: {reason.strip()}"
    now = timezone.now()
    call.technician = technician
    call.dispatched_at = now
    _transition_call(
        instance=call,
        to_status=RepairCall.Status.DISPATCHED,
        by=user,
        note=note,
        fields=["technician", "dispatched_at"],
        at=now,
    )
    call_event(events.CALL_DISPATCHED, call)
    # Written for a technician without an e-mail address too: the notice also reaches them in the app
    # and by SMS where their rules say so (notify's outbox router); an e-mail without an address is not sent.
    notifications_queue(
        notices=[
            _notice(
                key=f"repair-call-dispatched:{call.pk}:{call.version}:{technician.pk}",
                recipient=technician,
                template="repairs/email/dispatched.txt",
                call=call,
            )
        ]
    )
    return call


def _check_attending(user, call: RepairCall) -> None:
    _require(user, "repairs.attend_call", unit_id=call.unit_id)
    if user.has_role(Role.TECHNICIAN) and not user.has_role(Role.SUPERVISOR) and call.technician_id != user.pk:
        raise ApplicationError(_("Only the assigned technician can record this."))


def _require_every_visit_signed(call: RepairCall) -> None:
    """DOMAIN 2: each visit has a signed voucher, or a recorded reason why the customer could not sign."""
    missing = visits_without_signature(call_id=call.pk)
    if missing:
        raise ApplicationError(
            ngettext(
                "Visit %(visits)s has no signed service voucher: have the customer sign it, or record why they "
                "could not.",
                "Visits %(visits)s have no signed service voucher: have the customer sign them, or record why "
                "they could not.",
                len(missing),
            )
            % {"visits": ", ".join(str(number) for number in missing)}
        )


def _end_visit(call: RepairCall, *, outcome: str, at: dt.datetime) -> None:
    Visit.objects.filter(call_id=call.pk, number=call.visit_count, ended_at__isnull=True).update(
        outcome=outcome, ended_at=at
    )


@transaction.atomic
def repair_call_resolve(*, user, call_id: int, outcome: str, expected_version: int | None = None) -> RepairCall:
    call = _lock_call(call_id=call_id, expected_version=expected_version)
    _check_attending(user, call)
    if not outcome.strip():
        raise ApplicationError(_("Describe what was done."), field="outcome")
    if call.status == RepairCall.Status.ON_SITE:
        _require_every_visit_signed(call)
    call.outcome = outcome.strip()
    call.resolved_at = timezone.now()
    _end_visit(call, outcome=Visit.Outcome.RESOLVED, at=call.resolved_at)
    _transition_call(
        instance=call,
        to_status=RepairCall.Status.RESOLVED,
        by=user,
        note=call.outcome,
        fields=["outcome", "resolved_at"],
    )
    call_event(events.CALL_RESOLVED, call)
    return call


@transaction.atomic
def repair_call_cancel(*, user, call_id: int, reason: str, expected_version: int | None = None) -> RepairCall:
    call = _lock_call(call_id=call_id, expected_version=expected_version)
    _require(user, "repairs.cancel_call", unit_id=call.unit_id)
    if not reason.strip():
        raise ApplicationError(_("Give the reason for cancelling."), field="reason")
    call.cancel_reason = reason.strip()
    _transition_call(
        instance=call, to_status=RepairCall.Status.CANCELLED, by=user, note=call.cancel_reason, fields=["cancel_reason"]
    )
    return call


@transaction.atomic
def repair_call_close(*, user, call_id: int, note: str = "", expected_version: int | None = None) -> RepairCall:
    call = _lock_call(call_id=call_id, expected_version=expected_version)
    _require(user, "repairs.close_call", unit_id=call.unit_id)
    if call.status == RepairCall.Status.CARRIED_IN:
        # Clause 十一: a carried-in product stays in the register until it leaves against its
        # pickup receipt; returning it closes the call, nothing else may.
        if RegisterEntry.objects.filter(call_id=call.pk, released_at__isnull=True).exists():
            raise ApplicationError(
                _("The customer's product is still in our hands; the call closes when it is returned.")
            )
    elif call.status == RepairCall.Status.RESOLVED:
        _require_every_visit_signed(call)
    call.closed_at = timezone.now()
    _transition_call(
        instance=call, to_status=RepairCall.Status.CLOSED, by=user, note=note.strip(), fields=["closed_at"]
    )
    return call


def _notice(*, key: str, recipient, template: str, call: RepairCall, **extra) -> Notification:
    subject, body = render_notice(
        template=template,
        context={"call": call, "url": absolute_url(reverse("repairs:call_detail", args=[call.pk])), **extra},
    )
    return Notification(dedupe_key=key, recipient=recipient, to_email=recipient.email, subject=subject, body=body)


OVERDUE_BATCH = 1000


def repair_calls_mark_overdue(*, now: dt.datetime, batch_size: int = OVERDUE_BATCH) -> int:
    """Mark every call not attended by its deadline as overdue, once, and notify the unit's supervisors once.

    Reads only the partial index of late, unmarked calls, in batches. Rows are
    claimed under ``SKIP LOCKED`` so two checks at once split the work; the
    conditional UPDATE and the unique ``dedupe_key`` of each notice make a rerun,
    a late run or a concurrent run do nothing twice. The notices carry the call's
    id only: the outbox renders them when it sends them (``repairs/notices.py``),
    so a batch costs the same few statements whatever its size.
    """
    marked = 0
    while True:
        with transaction.atomic():
            due = list(
                RepairCall.objects.filter(
                    status__in=RepairCall.AWAITING_ARRIVAL, overdue_marked_at__isnull=True, attend_by__lt=now
                )
                .order_by("attend_by")
                .select_for_update(skip_locked=True)
                .values_list("id", "unit_id", "number", "attend_by")[:batch_size]
            )
            if not due:
                return marked
            marked += RepairCall.objects.filter(id__in=[row[0] for row in due], overdue_marked_at__isnull=True).update(
                overdue_marked_at=now
            )
            events.events_emit(
                events.Event(
                    name=events.CALL_OVERDUE,
                    object_type="repair_call",
                    object_id=call_id,
                    unit_id=unit_id,
                    data={"number": number, "attend_by": attend_by.isoformat()},
                    at=now,
                )
                for call_id, unit_id, number, attend_by in due
            )
            units = {row[1] for row in due}
            for unit_id in units:  # the boards show the calls as overdue (board_cache), after commit
                transaction.on_commit(partial(board_changed, unit_id=unit_id))
            supervisors = users_with_role_by_unit(role=Role.SUPERVISOR, unit_ids=units)
            notifications_queue(
                notices=[
                    Notification(
                        dedupe_key=f"repair-call-overdue:{call_id}:{sup.pk}",
                        recipient=sup,
                        to_email=sup.email,
                        kind=CALL_OVERDUE,
                        object_id=call_id,
                    )
                    for call_id, unit_id, _number, _attend_by in due
                    for sup in supervisors.get(unit_id, [])
                ]
            )
        if len(due) < batch_size:
            return marked
