"""Every allowed and every refused transition of a repair call, through the services.

The matrix is generated from ``RepairCall.TRANSITIONS`` and ``RepairCall.Status``: a new
status or transition without a service here fails the test instead of escaping it.
"""

import itertools
from collections import deque

import pytest
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from repairs import services
from repairs.models import RepairCall
from servicedesk.exceptions import ApplicationError
from servicedesk.models import StatusChange
from servicedesk.workflow import TransitionNotAllowed, apply_transition, history_for, lock_for_update
from tests.factories import log_call
from tests.repairs.field import signed_voucher

S = RepairCall.Status


def _carry_in(ctx, call):
    # Carry-in (DOMAIN section 3) has no service yet: the generic transition mechanism stands in.
    with transaction.atomic():
        locked = lock_for_update(RepairCall.objects.all(), pk=call.pk)
        apply_transition(instance=locked, to_status=S.CARRIED_IN, by=ctx["supervisor"], note="Carried back")


def _dispatch(ctx, call):
    technician = ctx["technician_b"] if call.technician_id == ctx["technician"].pk else ctx["technician"]
    return services.repair_call_dispatch(
        user=ctx["dispatcher"], call_id=call.pk, technician=technician, reason="Nearer", expected_version=call.version
    )


def _resolve(ctx, call):
    if call.status == S.ON_SITE:
        # DOMAIN 2: the visit's voucher is signed before the call can be resolved.
        signed_voucher(technician=ctx["supervisor"], call=call)
    return services.repair_call_resolve(
        user=ctx["supervisor"], call_id=call.pk, outcome="Replaced the fuse", expected_version=call.version
    )


def _leave(to_status):
    def leave(ctx, call):
        if to_status == S.REVISIT and call.status != S.ON_SITE:
            return services.repair_call_plan_visit(
                user=ctx["dispatcher"],
                call_id=call.pk,
                appointment_at=timezone.now() + timezone.timedelta(days=1),
                technician=ctx["technician"],
                expected_version=call.version,
            )
        return services.repair_call_leave_unfinished(
            user=ctx["supervisor"],
            call_id=call.pk,
            to_status=to_status,
            reason="Needs a new drum",
            appointment_at=timezone.now() + timezone.timedelta(days=1),
            expected_version=call.version,
        )

    return leave


# The service that moves a call INTO each status. LOGGED is only ever the first status.
SERVICE_FOR = {
    S.DISPATCHED: _dispatch,
    S.ON_SITE: lambda ctx, call: services.repair_call_record_arrival(
        user=ctx["supervisor"], call_id=call.pk, expected_version=call.version
    ),
    S.WAITING_PARTS: _leave(S.WAITING_PARTS),
    S.REVISIT: _leave(S.REVISIT),
    S.RESOLVED: _resolve,
    S.CARRIED_IN: _carry_in,
    S.CLOSED: lambda ctx, call: services.repair_call_close(
        user=ctx["dispatcher"], call_id=call.pk, note="Done", expected_version=call.version
    ),
    S.CANCELLED: lambda ctx, call: services.repair_call_cancel(
        user=ctx["dispatcher"], call_id=call.pk, reason="Customer fixed it", expected_version=call.version
    ),
}


def test_every_status_and_transition_target_is_covered():
    targets = {to for allowed in RepairCall.TRANSITIONS.values() for to in allowed}
    assert set(RepairCall.TRANSITIONS) == set(S), "every status needs a row in TRANSITIONS"
    assert targets <= set(SERVICE_FOR), f"add the service for {targets - set(SERVICE_FOR)} to SERVICE_FOR"
    assert S.LOGGED not in targets, "a call can only start as logged; add a service for going back to it"


def _path_to(status):
    """The shortest chain of transitions from LOGGED to ``status``."""
    queue, seen = deque([(S.LOGGED, [])]), {S.LOGGED}
    while queue:
        current, path = queue.popleft()
        if current == status:
            return path
        for nxt in RepairCall.TRANSITIONS[current]:
            if nxt not in seen:
                seen.add(nxt)
                queue.append((nxt, [*path, nxt]))
    raise AssertionError(f"status {status} cannot be reached from logged")


@pytest.fixture
def ctx(dispatcher, supervisor, technician, technician_b):
    return {"dispatcher": dispatcher, "supervisor": supervisor, "technician": technician, "technician_b": technician_b}


def _call_in(ctx, status):
    call = log_call(dispatcher=ctx["dispatcher"])
    for step in _path_to(status):
        SERVICE_FOR[step](ctx, call)
        call.refresh_from_db()
    assert call.status == status
    return call


@pytest.mark.parametrize(
    ("from_status", "to_status"),
    list(itertools.product(S, [s for s in S if s != S.LOGGED])),
    ids=lambda s: s.value,
)
def test_transition_matrix(ctx, from_status, to_status):
    call = _call_in(ctx, from_status)
    version, history = call.version, history_for(call).count()
    if to_status in RepairCall.TRANSITIONS[from_status]:
        SERVICE_FOR[to_status](ctx, call)
        call.refresh_from_db()
        assert call.status == to_status
        assert call.version == version + 1
        last = history_for(call).last()
        assert history_for(call).count() == history + 1
        assert (last.from_status, last.to_status) == (from_status, to_status)
        assert last.by is not None
    else:
        with pytest.raises(TransitionNotAllowed) as excinfo:
            SERVICE_FOR[to_status](ctx, call)
        assert str(S(from_status).label) in excinfo.value.message
        assert str(S(to_status).label) in excinfo.value.message
        call.refresh_from_db()
        assert call.status == from_status
        assert call.version == version
        assert history_for(call).count() == history


def test_each_step_writes_who_when_from_to_and_note(ctx, dispatcher, supervisor, technician):
    before = timezone.now()
    call = log_call(dispatcher=dispatcher)
    services.repair_call_dispatch(user=dispatcher, call_id=call.pk, technician=technician)
    services.repair_call_record_arrival(user=technician, call_id=call.pk)
    signed_voucher(technician=technician, call=call)
    services.repair_call_resolve(user=technician, call_id=call.pk, outcome="Cleaned the sensor")
    services.repair_call_close(user=supervisor, call_id=call.pk, note="Customer satisfied")
    rows = list(history_for(call).values_list("by__username", "from_status", "to_status", "note"))
    assert rows == [
        ("dispatcher", "", S.LOGGED, ""),
        ("dispatcher", S.LOGGED, S.DISPATCHED, f"Assigned to {technician}"),
        ("tech", S.DISPATCHED, S.ON_SITE, "Arrived within the deadline."),
        ("tech", S.ON_SITE, S.RESOLVED, "Cleaned the sensor"),
        ("supervisor", S.RESOLVED, S.CLOSED, "Customer satisfied"),
    ]
    assert all(before <= change.at <= timezone.now() for change in history_for(call))
    call.refresh_from_db()
    assert call.version == 5
    assert call.arrived_at and call.resolved_at and call.closed_at


def test_a_late_arrival_is_recorded_as_late(dispatcher, technician):
    received = timezone.now() - timezone.timedelta(hours=5, minutes=59)
    call = log_call(dispatcher=dispatcher, received_at=received)
    services.repair_call_dispatch(user=dispatcher, call_id=call.pk, technician=technician)
    RepairCall.objects.filter(pk=call.pk).update(attend_by=timezone.now() - timezone.timedelta(minutes=1))
    services.repair_call_record_arrival(user=technician, call_id=call.pk)
    assert history_for(call).last().note == "Arrived after the deadline."
    call.refresh_from_db()
    assert call.attended_in_time is False


def test_history_is_shown_on_the_call_page(client, dispatcher, technician, technician_b):
    call = log_call(dispatcher=dispatcher)
    services.repair_call_dispatch(user=dispatcher, call_id=call.pk, technician=technician)
    services.repair_call_dispatch(user=dispatcher, call_id=call.pk, technician=technician_b, reason="Tech ill")
    client.force_login(dispatcher)
    response = client.get(reverse("repairs:call_detail", args=[call.pk]))
    assert response.status_code == 200
    history = response.text.split('id="history"', 1)[1].split("</table>", 1)[0]
    assert history.count("<tr>") == 4  # header + logged + dispatched + reassigned
    assert str(dispatcher) in history
    assert "Logged" in history and "Dispatched" in history
    assert "Tech ill" in history
    for change in history_for(call):
        assert timezone.localtime(change.at).strftime("%Y-%m-%d %H:%M") in history


def test_reassignment_needs_a_reason(dispatcher, technician, technician_b):
    call = log_call(dispatcher=dispatcher)
    services.repair_call_dispatch(user=dispatcher, call_id=call.pk, technician=technician)
    with pytest.raises(ApplicationError, match="reason") as excinfo:
        services.repair_call_dispatch(user=dispatcher, call_id=call.pk, technician=technician_b, reason="  ")
    assert excinfo.value.field == "reason"
    call.refresh_from_db()
    assert call.technician == technician
    assert call.version == 2


def test_reassignment_records_old_and_new_technician_and_the_reason(dispatcher, technician, technician_b):
    call = log_call(dispatcher=dispatcher)
    services.repair_call_dispatch(user=dispatcher, call_id=call.pk, technician=technician)
    services.repair_call_dispatch(user=dispatcher, call_id=call.pk, technician=technician_b, reason="Closer to site")
    call.refresh_from_db()
    assert call.technician == technician_b
    change = history_for(call).last()
    assert (change.from_status, change.to_status) == (S.DISPATCHED, S.DISPATCHED)
    assert str(technician) in change.note and str(technician_b) in change.note and "Closer to site" in change.note


def test_reassigning_to_the_same_technician_is_refused(dispatcher, technician):
    call = log_call(dispatcher=dispatcher)
    services.repair_call_dispatch(user=dispatcher, call_id=call.pk, technician=technician)
    with pytest.raises(ApplicationError, match="already assigned"):
        services.repair_call_dispatch(user=dispatcher, call_id=call.pk, technician=technician, reason="again")


def test_reassignment_without_reason_is_a_form_error_over_http(client, dispatcher, technician, technician_b):
    call = log_call(dispatcher=dispatcher)
    services.repair_call_dispatch(user=dispatcher, call_id=call.pk, technician=technician)
    client.force_login(dispatcher)
    response = client.post(
        reverse("repairs:call_action", args=[call.pk, "dispatch"]),
        {"version": 2, "technician": technician_b.pk, "reason": ""},
    )
    assert response.status_code == 400
    assert "Give the reason for reassigning the call." in response.text
    call.refresh_from_db()
    assert call.technician == technician


def test_a_stale_version_is_refused_with_a_clear_message(dispatcher, technician, technician_b):
    call = log_call(dispatcher=dispatcher)
    services.repair_call_dispatch(user=dispatcher, call_id=call.pk, technician=technician, expected_version=1)
    with pytest.raises(ApplicationError, match="changed by someone else") as excinfo:
        services.repair_call_cancel(user=dispatcher, call_id=call.pk, reason="Duplicate", expected_version=1)
    assert call.number in excinfo.value.message
    call.refresh_from_db()
    assert call.status == S.DISPATCHED
    assert call.version == 2
    assert StatusChange.objects.filter(to_status=S.CANCELLED).count() == 0


def test_a_stale_version_over_http_is_a_form_error_not_a_500(client, dispatcher, technician):
    call = log_call(dispatcher=dispatcher)
    services.repair_call_dispatch(user=dispatcher, call_id=call.pk, technician=technician)
    client.force_login(dispatcher)
    response = client.post(reverse("repairs:call_action", args=[call.pk, "cancel"]), {"version": 1, "reason": "x"})
    assert response.status_code == 400
    assert "was changed by someone else" in response.text
    call.refresh_from_db()
    assert call.status == S.DISPATCHED


@pytest.mark.parametrize("version", ["", "abc", "0", "-1"])
def test_a_missing_or_garbage_version_is_a_form_error(client, dispatcher, version):
    call = log_call(dispatcher=dispatcher)
    client.force_login(dispatcher)
    response = client.post(
        reverse("repairs:call_action", args=[call.pk, "cancel"]), {"version": version, "reason": "x"}
    )
    assert response.status_code == 400
    call.refresh_from_db()
    assert call.status == S.LOGGED


def test_an_unknown_action_is_refused(client, dispatcher):
    call = log_call(dispatcher=dispatcher)
    client.force_login(dispatcher)
    response = client.post(reverse("repairs:call_action", args=[call.pk, "teleport"]), {"version": 1})
    assert response.status_code in (403, 404)
    call.refresh_from_db()
    assert call.version == 1


@pytest.mark.parametrize(
    ("action", "data", "message"),
    [
        ("cancel", {"reason": "   "}, "Give the reason for cancelling."),
        ("resolve", {"outcome": "  "}, "Describe what was done."),
    ],
)
def test_blank_reasons_are_form_errors(client, dispatcher, supervisor, technician, action, data, message):
    call = log_call(dispatcher=dispatcher)
    if action == "resolve":
        services.repair_call_dispatch(user=dispatcher, call_id=call.pk, technician=technician)
        services.repair_call_record_arrival(user=supervisor, call_id=call.pk)
        call.refresh_from_db()
    client.force_login(supervisor)
    response = client.post(reverse("repairs:call_action", args=[call.pk, action]), {"version": call.version, **data})
    assert response.status_code == 400
    assert "This field is required." in response.text or message in response.text
    assert RepairCall.objects.get(pk=call.pk).version == call.version


def test_an_arrival_typed_in_the_future_is_refused(client, dispatcher, technician):
    call = log_call(dispatcher=dispatcher)
    services.repair_call_dispatch(user=dispatcher, call_id=call.pk, technician=technician)
    client.force_login(dispatcher)
    later = timezone.localtime() + timezone.timedelta(hours=2)
    response = client.post(
        reverse("repairs:call_action", args=[call.pk, "enter_arrival"]),
        {"version": 2, "arrived_at": later.strftime("%Y-%m-%dT%H:%M"), "reason": "Phone battery dead"},
    )
    assert response.status_code == 400
    assert "The arrival time cannot be in the future." in response.text
    assert RepairCall.objects.get(pk=call.pk).status == S.DISPATCHED


def test_a_time_the_technician_posts_with_arrived_is_ignored_the_server_clock_counts(client, dispatcher, technician):
    call = log_call(dispatcher=dispatcher)
    services.repair_call_dispatch(user=dispatcher, call_id=call.pk, technician=technician)
    client.force_login(technician)
    earlier = timezone.localtime() - timezone.timedelta(hours=3)
    before = timezone.now()
    response = client.post(
        reverse("repairs:call_action", args=[call.pk, "arrive"]),
        {"version": 2, "arrived_at": earlier.strftime("%Y-%m-%dT%H:%M")},
    )
    assert response.status_code == 302
    call.refresh_from_db()
    assert call.status == S.ON_SITE and before <= call.arrived_at <= timezone.now()
    assert call.arrival_typed is False


def test_the_call_page_offers_only_the_actions_the_table_allows(client, dispatcher, technician):
    call = log_call(dispatcher=dispatcher)
    client.force_login(dispatcher)
    page = client.get(reverse("repairs:call_detail", args=[call.pk])).text
    assert 'id="action-dispatch"' in page and 'id="action-cancel"' in page
    assert 'id="action-close"' not in page and 'id="action-resolve"' not in page
