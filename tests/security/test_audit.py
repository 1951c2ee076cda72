"""Who did what and when, kept where nobody can edit it.

- Every status change is a StatusChange row: read-only in the admin, and the database refuses UPDATE and
  DELETE (servicedesk migration 0003), while ``flush`` still empties a test database on both databases.
- Every admin edit of a rule table leaves a LogEntry with its change message; LogEntry is not editable in the
  admin, and the database refuses UPDATE and DELETE of it too (servicedesk migration 0004).
- Money changed outside the admin leaves a record (a draft voucher's amounts: a StatusChange note).
"""

import json
from decimal import Decimal

import pytest
from django.contrib import admin
from django.contrib.admin.models import CHANGE, DELETION, LogEntry
from django.db import DatabaseError, connection, transaction
from django.test import RequestFactory
from django.urls import reverse

from repairs import services as repair_services
from servicedesk.models import StatusChange
from servicedesk.roles import Role
from servicedesk.workflow import history_for
from tests.factories import UserFactory, log_call
from tests.repairs.field import call_on_site, draft_voucher

from .forms import post_forms


def _refused(action):
    with pytest.raises(DatabaseError), transaction.atomic():
        action()


def test_the_database_refuses_to_change_or_delete_the_status_history(db, dispatcher, technician):
    call = log_call(dispatcher=dispatcher)
    repair_services.repair_call_dispatch(user=dispatcher, call_id=call.pk, technician=technician)
    change = StatusChange.objects.filter(object_id=call.pk, to_status="dispatched").get()
    _refused(lambda: StatusChange.objects.filter(pk=change.pk).update(note="nothing happened"))
    _refused(lambda: StatusChange.objects.filter(pk=change.pk).update(by=None))
    _refused(lambda: StatusChange.objects.filter(pk=change.pk).delete())
    change.to_status = "closed"
    _refused(lambda: change.save())
    _refused(lambda: StatusChange.objects.all().delete())
    fresh = StatusChange.objects.get(pk=change.pk)
    assert (fresh.to_status, fresh.by, fresh.note, fresh.at) == ("dispatched", dispatcher, change.note, change.at)
    # Appending is what the services do, and still works.
    repair_services.repair_call_cancel(user=dispatcher, call_id=call.pk, reason="Customer fixed it")
    assert list(history_for(call).values_list("to_status", flat=True)) == ["logged", "dispatched", "cancelled"]


def test_the_admin_shows_the_history_read_only(db, dispatcher):
    call = log_call(dispatcher=dispatcher)
    change = StatusChange.objects.get(object_id=call.pk)
    model_admin = admin.site._registry[StatusChange]
    superuser = UserFactory(username="root", is_staff=True, is_superuser=True)
    request = RequestFactory().get("/")
    request.user = superuser
    assert not model_admin.has_add_permission(request)
    assert not model_admin.has_change_permission(request, change)
    assert not model_admin.has_delete_permission(request, change)
    from django.test import Client

    client = Client()
    client.force_login(superuser)
    assert client.get(reverse("admin:servicedesk_statuschange_change", args=[change.pk])).status_code == 200
    url = reverse("admin:servicedesk_statuschange_change", args=[change.pk])
    assert client.post(url, {"to_status": "closed", "note": "x"}).status_code == 403
    delete = reverse("admin:servicedesk_statuschange_delete", args=[change.pk])
    assert client.post(delete, {"post": "yes"}).status_code == 403
    changelist = reverse("admin:servicedesk_statuschange_changelist")
    response = client.post(changelist, {"action": "delete_selected", "_selected_action": [change.pk], "post": "yes"})
    assert response.status_code in (200, 302, 403)
    assert StatusChange.objects.filter(pk=change.pk, to_status="logged").exists()


# Business numbers an administrator keeps in the admin (DOMAIN: every number is data).
RULE_TABLES = [
    "repairs.zone",
    "repairs.unitfeepolicy",
    "contracts.contracttype",
    "complaints.causecategory",
    "complaints.approvalauthority",
    "complaints.stagedeadline",
    "complaints.surveypolicy",
    "penalties.penaltykind",
    "penalties.resalewindowpolicy",
    "servicedesk.workingcalendar",
]


def _edit(form):
    """One field of the admin form changed, a number if there is one: (name, data)."""
    data = dict(form.values)
    for name, kind in form.fields.items():
        if kind == "number" and "-" not in name and data.get(name) not in (None, ""):
            data[name] = str(Decimal(data[name]) + 1)
            return name, data
    for name, kind in form.fields.items():
        if kind == "text" and "-" not in name and data.get(name):
            data[name] = data[name][:80] + " (edited)"
            return name, data
    raise AssertionError(f"no editable field in {sorted(form.fields)}")


@pytest.mark.parametrize("label", RULE_TABLES)
def test_an_admin_edit_of_a_rule_table_is_logged_with_its_change(world, db, label):
    from django.apps import apps

    model = apps.get_model(label)
    obj = model.objects.order_by("pk").first()
    assert obj is not None, f"no {label} row to edit"
    administrator = world.users[("HO", Role.ADMINISTRATOR)]
    administrator.is_staff = True
    administrator.save(update_fields=["is_staff"])
    client = world.client(("HO", Role.ADMINISTRATOR))
    url = reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_change", args=[obj.pk])
    page = client.get(url)
    assert page.status_code == 200
    form = max(post_forms(page.text), key=lambda f: len(f.fields))
    name, data = _edit(form)
    response = client.post(url, {**data, "_save": "Save"})
    assert response.status_code == 302, f"the admin refused the edit of {name}: {page.status_code}"
    entry = LogEntry.objects.filter(content_type__app_label=model._meta.app_label, object_id=str(obj.pk)).latest("pk")
    assert (entry.action_flag, entry.user_id) == (CHANGE, administrator.pk)
    changed = [
        field for item in json.loads(entry.change_message) for field in item.get("changed", {}).get("fields", [])
    ]
    assert str(model._meta.get_field(name).verbose_name).capitalize() in changed or name in changed, changed
    assert entry.action_time is not None


def test_the_admin_log_cannot_be_edited_in_the_admin(db):
    superuser = UserFactory(username="root", is_staff=True, is_superuser=True)
    request = RequestFactory().get("/")
    request.user = superuser
    model_admin = admin.site._registry.get(LogEntry)
    if model_admin is not None:
        assert not model_admin.has_change_permission(request)
        assert not model_admin.has_delete_permission(request)
    else:
        from django.urls import NoReverseMatch

        with pytest.raises(NoReverseMatch):
            reverse("admin:admin_logentry_changelist")


def test_the_database_refuses_to_change_or_delete_the_admin_log(world, db):
    administrator = world.users[("HO", Role.ADMINISTRATOR)]
    [entry] = LogEntry.objects.log_actions(
        user_id=administrator.pk, queryset=[world.unit_a], action_flag=CHANGE, change_message="Changed the name."
    )
    other = UserFactory(username="someone-else")
    before = (entry.user_id, entry.change_message, entry.object_repr, entry.action_time)
    _refused(lambda: LogEntry.objects.filter(pk=entry.pk).update(change_message="nothing happened"))
    _refused(lambda: LogEntry.objects.filter(pk=entry.pk).update(user=other))
    _refused(lambda: LogEntry.objects.filter(pk=entry.pk).delete())
    _refused(lambda: LogEntry.objects.all().delete())
    entry.object_repr = "something else"
    _refused(lambda: entry.save())
    _refused(lambda: entry.delete())

    def raw(sql):
        with connection.cursor() as cursor:
            cursor.execute(sql, [entry.pk])

    _refused(lambda: raw("UPDATE django_admin_log SET change_message = 'x' WHERE id = %s"))
    _refused(lambda: raw("UPDATE django_admin_log SET action_time = action_time WHERE id = %s"))
    _refused(lambda: raw("DELETE FROM django_admin_log WHERE id = %s"))
    fresh = LogEntry.objects.get(pk=entry.pk)
    assert (fresh.user_id, fresh.change_message, fresh.object_repr, fresh.action_time) == before
    # Appending is what the admin does, and still works.
    LogEntry.objects.log_actions(user_id=other.pk, queryset=[world.unit_b], action_flag=CHANGE, change_message="y")
    assert LogEntry.objects.filter(user=other).count() == 1


def test_the_database_refuses_to_delete_a_user_named_in_the_admin_log(world, db):
    """Deleting the user would delete their log entries (CASCADE): refused, so they are deactivated instead."""
    administrator = world.users[("HO", Role.ADMINISTRATOR)]
    LogEntry.objects.log_actions(
        user_id=administrator.pk, queryset=[world.unit_a], action_flag=CHANGE, change_message="x"
    )
    _refused(lambda: administrator.delete())
    administrator.is_active = False
    administrator.save(update_fields=["is_active"])
    assert LogEntry.objects.filter(user=administrator).exists()


def test_removing_a_stale_content_type_cannot_blank_the_admin_log(world, db):
    """LogEntry.content_type is SET_NULL, an UPDATE of the log: remove_stale_contenttypes stops rather than blank it."""
    from django.contrib.contenttypes.models import ContentType

    dropped = ContentType.objects.create(app_label="servicedesk", model="droppedmodel")
    entry = LogEntry.objects.create(
        user=world.users[("HO", Role.ADMINISTRATOR)],
        content_type=dropped,
        object_id="1",
        object_repr="a row of a model since dropped",
        action_flag=DELETION,
    )
    _refused(lambda: dropped.delete())
    assert LogEntry.objects.get(pk=entry.pk).content_type_id == dropped.pk


def test_the_admin_deletes_a_user_who_never_used_it_and_logs_that(db):
    superuser = UserFactory(username="root", is_staff=True, is_superuser=True)
    newcomer = UserFactory(username="mistyped-account")
    from django.test import Client

    client = Client()
    client.force_login(superuser)
    response = client.post(reverse("admin:servicedesk_user_delete", args=[newcomer.pk]), {"post": "yes"})
    assert response.status_code == 302
    assert not type(newcomer).objects.filter(pk=newcomer.pk).exists()
    entry = LogEntry.objects.get(object_id=str(newcomer.pk), content_type__model="user")
    assert (entry.user_id, entry.action_flag) == (superuser.pk, DELETION)
    # Nobody deletes themselves: the admin would log the deletion under the name it deletes.
    own = reverse("admin:servicedesk_user_delete", args=[superuser.pk])
    assert client.post(own, {"post": "yes"}).status_code == 403
    assert type(superuser).objects.filter(pk=superuser.pk).exists()


def test_deleting_a_user_cannot_take_their_admin_log_with_them(world, db):
    """LogEntry rows go with their user (CASCADE): the admin must not delete a user who has any."""
    administrator = world.users[("HO", Role.ADMINISTRATOR)]
    LogEntry.objects.log_actions(
        user_id=administrator.pk, queryset=[world.unit_a], action_flag=CHANGE, change_message="x"
    )
    superuser = UserFactory(username="root", is_staff=True, is_superuser=True)
    request = RequestFactory().get("/")
    request.user = superuser
    user_admin = admin.site._registry[type(administrator)]
    assert not user_admin.has_delete_permission(request, administrator)
    assert "delete_selected" not in user_admin.get_actions(request)


def test_an_administrator_cannot_take_over_a_superuser_account(world, db):
    administrator = world.users[("HO", Role.ADMINISTRATOR)]
    administrator.is_staff = True
    administrator.save(update_fields=["is_staff"])
    root = UserFactory(username="root", is_staff=True, is_superuser=True)
    client = world.client(("HO", Role.ADMINISTRATOR))
    url = reverse("admin:auth_user_password_change", args=[root.pk])
    response = client.post(url, {"password1": "Taken-over-2026!", "password2": "Taken-over-2026!"})
    assert response.status_code == 403
    root.refresh_from_db()
    assert root.check_password("pw")


def test_a_draft_vouchers_amounts_changed_on_the_phone_are_recorded(db, dispatcher, technician):
    call = call_on_site(dispatcher=dispatcher, technician=technician)
    voucher = draft_voucher(technician=technician, call=call, labour=Decimal("100.00"))
    before = voucher.total_due
    repair_services.service_voucher_update(
        user=technician,
        voucher_id=voucher.pk,
        departed_at=voucher.departed_at,
        work_done=voucher.work_done,
        parts=[],
        labour_charge=Decimal("40.00"),
    )
    voucher.refresh_from_db()
    last = history_for(voucher).last()
    assert (last.by, last.from_status, last.to_status) == (technician, "draft", "draft")
    assert str(before) in last.note and "40.00" in last.note
