"""Roles are groups with exactly the permissions ROLE_PERMISSIONS gives them, synced after migrate."""

import pytest
from django.contrib.auth.models import Group, Permission
from django.urls import reverse
from django.utils import timezone

from servicedesk.roles import ADMIN_MODELS, ROLE_PERMISSIONS, Role
from tests.factories import log_call


def _codes(perms):
    return {f"{p.content_type.app_label}.{p.codename}" for p in perms.select_related("content_type")}


@pytest.mark.parametrize("role", list(Role), ids=lambda r: r.value)
def test_each_role_is_a_group_with_exactly_its_permissions(db, role):
    group = Group.objects.get(name=role.value)
    expected = set(ROLE_PERMISSIONS.get(role, []))
    if role == Role.ADMINISTRATOR:
        for app_label, model in ADMIN_MODELS:
            expected |= _codes(Permission.objects.filter(content_type__app_label=app_label, content_type__model=model))
    assert _codes(group.permissions.all()) == expected


def test_every_permission_named_for_a_role_exists(db):
    named = {perm for perms in ROLE_PERMISSIONS.values() for perm in perms}
    missing = {
        perm
        for perm in named
        if not Permission.objects.filter(
            content_type__app_label=perm.split(".")[0], codename=perm.split(".")[1]
        ).exists()
    }
    assert not missing


def test_every_admin_model_exists(db):
    from django.apps import apps

    for app_label, model in ADMIN_MODELS:
        apps.get_model(app_label, model)


def test_syncing_again_changes_nothing(db):
    from servicedesk.roles import sync_role_groups

    before = {g.name: _codes(g.permissions.all()) for g in Group.objects.all()}
    sync_role_groups()
    assert {g.name: _codes(g.permissions.all()) for g in Group.objects.all()} == before


def test_a_technician_cannot_log_a_call(client, technician):
    client.force_login(technician)
    assert client.get(reverse("repairs:call_log")).status_code == 403
    assert client.post(reverse("repairs:call_log"), {}).status_code == 403
    assert client.get(reverse("repairs:customer_lookup"), {"q": "ab"}).status_code == 403


def test_a_technician_cannot_dispatch_cancel_or_close(client, dispatcher, technician):
    from repairs.models import RepairCall

    call = log_call(dispatcher=dispatcher)
    client.force_login(technician)
    for action, data in (
        ("dispatch", {"technician": technician.pk}),
        ("cancel", {"reason": "x"}),
        ("close", {"note": "x"}),
    ):
        response = client.post(reverse("repairs:call_action", args=[call.pk, action]), {"version": 1, **data})
        assert response.status_code == 403, action
    assert RepairCall.objects.get(pk=call.pk).version == 1


def test_the_technician_is_not_offered_the_dispatch_form(client, dispatcher, technician):
    call = log_call(dispatcher=dispatcher)
    client.force_login(technician)
    page = client.get(call.get_absolute_url()).text
    assert 'id="action-dispatch"' not in page and 'id="action-cancel"' not in page


def test_a_dispatcher_cannot_record_arrival(client, dispatcher, technician):
    from repairs import services

    call = log_call(dispatcher=dispatcher)
    services.repair_call_dispatch(user=dispatcher, call_id=call.pk, technician=technician)
    client.force_login(dispatcher)
    response = client.post(
        reverse("repairs:call_action", args=[call.pk, "arrive"]),
        {"version": 2, "arrived_at": timezone.localtime().strftime("%Y-%m-%dT%H:%M")},
    )
    assert response.status_code == 403


def test_a_technician_starts_on_my_calls_and_a_dispatcher_on_the_board(client, dispatcher, technician):
    client.force_login(technician)
    assert client.get(reverse("home")).url == reverse("repairs:my_calls")
    client.force_login(dispatcher)
    assert client.get(reverse("home")).url == reverse("repairs:board")
