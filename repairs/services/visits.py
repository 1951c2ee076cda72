"""Visits to the customer's site (DOMAIN 1 and 2): arrival on the server's clock, visits that cannot finish,
the next visit planned, and the reason recorded when the customer could not sign.

Each visit has its own arrival, voucher and signature. The call's ``arrived_at`` is the FIRST visit's
arrival: clause 十九's deadline is met by it and no revisit recomputes or moves it.
"""

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from servicedesk import events
from servicedesk.exceptions import ApplicationError
from servicedesk.roles import Role
from servicedesk.workflow import check_transition, lock_for_update, record_status_change

from ..models import RepairCall, ServiceVoucher, Visit
from ..photos import work_photo_checked
from .calls import (
    CLOCK_TOLERANCE,
    _check_attending,
    _end_visit,
    _lock_call,
    _require,
    _transition_call,
    call_event,
    technicians_of_unit,
)

# How far ahead a next visit may be planned: a wrong year typed is refused, a quarter's wait is not.
MAX_PLANNING_AHEAD = dt.timedelta(days=366)


@dataclass(frozen=True)
class Location:
    """The phone's position when the technician tapped "arrived", as the browser's geolocation gives it."""

    latitude: Decimal
    longitude: Decimal
    accuracy_m: int | None = None


def _arrive(
    *,
    user,
    call: RepairCall,
    arrived_at: dt.datetime,
    source: str,
    reason: str = "",
    location: Location | None = None,
) -> Visit:
    # The table first: no visit is written for a call that cannot be attended now.
    check_transition(instance=call, to_status=RepairCall.Status.ON_SITE)
    first = call.visit_count == 0
    visit = Visit.objects.create(
        call=call,
        unit_id=call.unit_id,
        number=call.visit_count + 1,
        technician_id=call.technician_id or user.pk,
        appointment_at=call.appointment_at,
        arrived_at=arrived_at,
        arrival_source=source,
        arrival_reason=reason,
        arrival_entered_by=user,
        latitude=location.latitude if location else None,
        longitude=location.longitude if location else None,
        location_accuracy_m=location.accuracy_m if location else None,
    )
    call.visit_count = visit.number
    call.appointment_at = None
    fields = ["visit_count", "appointment_at"]
    local = timezone.localtime(arrived_at).strftime("%Y-%m-%d %H:%M")
    if first:
        call.arrived_at = arrived_at
        call.arrival_typed = source == Visit.Arrival.TYPED
        fields += ["arrived_at", "arrival_typed"]
        note = _("Arrived within the deadline.") if arrived_at <= call.attend_by else _("Arrived after the deadline.")
    else:
        note = _("Visit %(number)d: arrived.") % {"number": visit.number}
    if source == Visit.Arrival.TYPED:
        note = "%s %s" % (
            note,
            _("Arrival time %(time)s entered by hand by %(user)s: %(reason)s")
            % {"time": local, "user": user, "reason": reason},
        )
    elif location is not None:
        note = "%s %s" % (note, _("Location recorded by the phone."))
    _transition_call(instance=call, to_status=RepairCall.Status.ON_SITE, by=user, note=note, fields=fields)
    call_event(events.CALL_ARRIVED, call)
    return visit


@transaction.atomic
def repair_call_record_arrival(
    *,
    user,
    call_id: int,
    expected_version: int | None = None,
    location: Location | None = None,
    now: dt.datetime | None = None,
) -> Visit:
    """The technician taps "arrived": the visit starts at the server's clock, never a time typed on the phone."""
    call = _lock_call(call_id=call_id, expected_version=expected_version)
    _check_attending(user, call)
    return _arrive(
        user=user, call=call, arrived_at=now or timezone.now(), source=Visit.Arrival.TAPPED, location=location
    )


@transaction.atomic
def repair_call_enter_arrival(
    *, user, call_id: int, arrived_at: dt.datetime, reason: str, expected_version: int | None = None
) -> Visit:
    """A dispatcher or supervisor types an arrival (the phone was dead, no signal): with a reason, marked as typed."""
    call = _lock_call(call_id=call_id, expected_version=expected_version)
    _require(user, "repairs.enter_arrival", unit_id=call.unit_id)
    if not (user.has_role(Role.DISPATCHER) or user.has_role(Role.SUPERVISOR)):
        raise ApplicationError(_("Only a dispatcher or a supervisor can enter an arrival time by hand."))
    reason = (reason or "").strip()
    if not reason:
        raise ApplicationError(_("Give the reason why the arrival is entered by hand."), field="reason")
    if call.technician_id is None:
        raise ApplicationError(_("Dispatch a technician first."))
    now = timezone.now()
    if arrived_at > now + CLOCK_TOLERANCE:
        raise ApplicationError(_("The arrival time cannot be in the future."), field="arrived_at")
    if call.visit_count == 0:
        if call.dispatched_at and arrived_at < call.dispatched_at - CLOCK_TOLERANCE:
            raise ApplicationError(_("The arrival time cannot be before the call was dispatched."), field="arrived_at")
    else:
        previous = Visit.objects.filter(call_id=call.pk, number=call.visit_count).values_list("ended_at", flat=True)
        ended = previous.first()
        if ended and arrived_at < ended:
            raise ApplicationError(_("The arrival time cannot be before the previous visit ended."), field="arrived_at")
    return _arrive(user=user, call=call, arrived_at=arrived_at, source=Visit.Arrival.TYPED, reason=reason[:500])


def _check_appointment(appointment_at: dt.datetime | None, *, now: dt.datetime) -> None:
    if appointment_at is None:
        raise ApplicationError(_("Give the appointment for the next visit."), field="appointment_at")
    if appointment_at < now - CLOCK_TOLERANCE:
        raise ApplicationError(_("The appointment cannot be in the past."), field="appointment_at")
    if appointment_at > now + MAX_PLANNING_AHEAD:
        raise ApplicationError(_("The appointment is more than a year ahead."), field="appointment_at")


UNFINISHED = {
    RepairCall.Status.WAITING_PARTS: Visit.Outcome.WAITING_PARTS,
    RepairCall.Status.REVISIT: Visit.Outcome.REVISIT,
}


@transaction.atomic
def repair_call_leave_unfinished(
    *,
    user,
    call_id: int,
    to_status: str,
    reason: str,
    appointment_at: dt.datetime,
    expected_version: int | None = None,
) -> RepairCall:
    """The technician cannot finish on site: the call waits for parts or for a second visit, at an appointment.

    The call returns to the dispatch board as planned work; the visit that ends here keeps its arrival,
    voucher and signature, and the next visit will have its own.
    """
    call = _lock_call(call_id=call_id, expected_version=expected_version)
    _check_attending(user, call)
    if to_status not in UNFINISHED:
        raise ApplicationError(_("Choose why the work could not be finished."), field="to_status")
    reason = (reason or "").strip()
    if not reason:
        raise ApplicationError(_("Say what is left to do and why."), field="reason")
    now = timezone.now()
    _check_appointment(appointment_at, now=now)
    if call.status == RepairCall.Status.ON_SITE:
        _end_visit(call, outcome=UNFINISHED[to_status], at=now)
    call.appointment_at = appointment_at
    note = _("Visit %(number)d could not finish: %(reason)s. Next visit %(time)s.") % {
        "number": call.visit_count,
        "reason": reason,
        "time": timezone.localtime(appointment_at).strftime("%Y-%m-%d %H:%M"),
    }
    _transition_call(instance=call, to_status=to_status, by=user, note=note, fields=["appointment_at"], at=now)
    return call


@transaction.atomic
def repair_call_plan_visit(
    *,
    user,
    call_id: int,
    appointment_at: dt.datetime,
    technician=None,
    reason: str = "",
    expected_version: int | None = None,
) -> RepairCall:
    """The dispatcher plans (or moves) the next visit of a call between visits, and may send another technician."""
    call = _lock_call(call_id=call_id, expected_version=expected_version)
    _require(user, "repairs.dispatch_call", unit_id=call.unit_id)
    if call.status == RepairCall.Status.ON_SITE:
        # The technician on site ends the visit (repair_call_leave_unfinished); the desk plans only after.
        raise ApplicationError(_("The technician is on site: the visit must end before the next one is planned."))
    now = timezone.now()
    _check_appointment(appointment_at, now=now)
    technician = technician or call.technician
    if technician is None or not technicians_of_unit(unit_id=call.unit_id).filter(pk=technician.pk).exists():
        raise ApplicationError(_("Choose an active technician of the call's unit."), field="technician")
    note = _("Next visit planned for %(time)s with %(technician)s") % {
        "time": timezone.localtime(appointment_at).strftime("%Y-%m-%d %H:%M"),
        "technician": technician,
    }
    if (reason or "").strip():
        note = f"{note}: {reason.strip()}"
    call.appointment_at = appointment_at
    call.technician = technician
    _transition_call(
        instance=call,
        to_status=RepairCall.Status.REVISIT,
        by=user,
        note=note,
        fields=["appointment_at", "technician"],
        at=now,
    )
    return call


@transaction.atomic
def visit_record_no_signature(
    *,
    user,
    visit_id: int,
    reason: str,
    note: str = "",
    witness_name: str = "",
    photo=None,
    now: dt.datetime | None = None,
) -> Visit:
    """The customer could not sign this visit's voucher (absent, refused): the reason, with a photo or a witness.

    The supervisor sees every such visit in a list (``selectors_visits.unsigned_visits``).
    """
    visit = lock_for_update(Visit.objects.select_related("call"), pk=visit_id)
    _require(user, "repairs.fill_voucher", unit_id=visit.unit_id)
    if user.has_role(Role.TECHNICIAN) and not user.has_role(Role.SUPERVISOR) and visit.technician_id != user.pk:
        raise ApplicationError(_("Only the technician of this visit can record this."))
    if visit.no_signature_reason:
        raise ApplicationError(_("The reason for this visit is already recorded."))
    if ServiceVoucher.objects.filter(visit_id=visit.pk, status=ServiceVoucher.Status.SIGNED).exists():
        raise ApplicationError(_("The customer has already signed this visit's voucher."))
    if reason not in Visit.NoSignature.values:
        raise ApplicationError(_("Choose why the customer could not sign."), field="reason")
    witness_name = (witness_name or "").strip()[:100]
    photo_bytes = work_photo_checked(photo) if photo is not None else None
    if not witness_name and photo_bytes is None:
        raise ApplicationError(_("Add a photo of the work or the name of a witness."), field="witness_name")
    visit.no_signature_reason = reason
    visit.no_signature_note = (note or "").strip()[:1000]
    visit.witness_name = witness_name
    visit.work_photo = photo_bytes
    visit.no_signature_by = user
    visit.no_signature_at = now or timezone.now()
    visit.save(
        update_fields=[
            "no_signature_reason",
            "no_signature_note",
            "witness_name",
            "work_photo",
            "no_signature_by",
            "no_signature_at",
        ]
    )
    # The call's history says it too, so the record of the call is complete without the list.
    call = visit.call
    record_status_change(
        instance=call,
        from_status=call.status,
        to_status=call.status,
        by=user,
        note=_("Visit %(number)d not signed: %(reason)s")
        % {"number": visit.number, "reason": visit.get_no_signature_reason_display()}
        + (" (%s)" % (_("witness: %(name)s") % {"name": witness_name}) if witness_name else "")
        + (f" — {visit.no_signature_note}" if visit.no_signature_note else ""),
        at=visit.no_signature_at,
    )
    return visit
