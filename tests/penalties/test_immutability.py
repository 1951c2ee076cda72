"""An approved penalty never changes: the services, the admin and the database itself refuse."""

from decimal import Decimal

import pytest
from django.db import DatabaseError, connection, transaction
from django.test import Client
from django.urls import reverse

from penalties import services
from penalties.models import AuditEntry, PenaltyKind, PenaltyLine, PenaltyRuling
from penalties.services import ShareInput
from servicedesk.exceptions import ApplicationError
from servicedesk.roles import Role
from tests.conftest import is_postgres
from tests.factories import UserFactory

from .conftest import approved_ruling, open_and_propose


@pytest.fixture
def approved(ruled_case, gm_office, manager):
    return approved_ruling(case=ruled_case, by=gm_office, approver=manager)


def test_the_services_refuse_every_change_to_an_approved_ruling(approved, gm_office, manager, technician):
    line = approved.lines.get()
    kind = PenaltyKind.objects.get(code="warning")
    attempts = [
        lambda: services.ruling_set_shares(
            user=gm_office, ruling_id=approved.pk, shares=[ShareInput(Decimal("100"), person=technician)]
        ),
        lambda: services.ruling_propose(user=gm_office, ruling_id=approved.pk),
        lambda: services.ruling_line_adjust(
            user=gm_office,
            line_id=line.pk,
            penalty_kind=kind,
            base_units=Decimal("1"),
            amount_per_unit=Decimal("0"),
            reason="Kinder",
        ),
        lambda: services.ruling_reopen(user=gm_office, ruling_id=approved.pk),
        lambda: services.ruling_cancel(user=gm_office, ruling_id=approved.pk, reason="Oops"),
        lambda: services.ruling_approve(user=manager, ruling_id=approved.pk),
    ]
    for attempt in attempts:
        with pytest.raises(ApplicationError, match="never changes"):
            attempt()
    line.refresh_from_db()
    assert (line.deduction, line.penalty_kind.code) == (Decimal("800.00"), "minor_demerit")


def _admin_client():
    admin = UserFactory(username="root", is_staff=True, is_superuser=True, roles=[Role.ADMINISTRATOR])
    client = Client()
    client.force_login(admin)
    return client


def test_the_admin_refuses_to_change_or_delete_an_approved_ruling(approved):
    client = _admin_client()
    change = reverse("admin:penalties_penaltyruling_change", args=[approved.pk])
    page = client.get(change)
    assert page.status_code == 200 and 'name="status"' not in page.text  # read-only view
    assert client.post(change, {"status": "draft", "total_deduction": "0"}).status_code == 403
    assert (
        client.post(reverse("admin:penalties_penaltyruling_delete", args=[approved.pk]), {"post": "yes"}).status_code
        == 403
    )
    approved.refresh_from_db()
    assert approved.status == PenaltyRuling.Status.APPROVED


def test_the_admin_refuses_to_touch_the_audit_trail(approved):
    client = _admin_client()
    entry = AuditEntry.objects.filter(ruling=approved).first()
    assert client.get(reverse("admin:penalties_auditentry_changelist")).status_code == 200
    assert (
        client.post(reverse("admin:penalties_auditentry_change", args=[entry.pk]), {"action": "x"}).status_code == 403
    )
    assert (
        client.post(reverse("admin:penalties_auditentry_delete", args=[entry.pk]), {"post": "yes"}).status_code == 403
    )
    assert client.get(reverse("admin:penalties_auditentry_add")).status_code == 403


def _refused(sql, params):
    with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(sql, params)


def test_the_database_refuses_a_direct_update_or_delete_of_an_approved_ruling(approved):
    _refused("UPDATE penalties_penaltyruling SET total_deduction = 0 WHERE id = %s", [approved.pk])
    _refused("UPDATE penalties_penaltyruling SET status = 'draft' WHERE id = %s", [approved.pk])
    _refused("DELETE FROM penalties_penaltyruling WHERE id = %s", [approved.pk])
    line = approved.lines.get()
    _refused("UPDATE penalties_penaltyline SET deduction = 1 WHERE id = %s", [line.pk])
    _refused("DELETE FROM penalties_penaltyline WHERE id = %s", [line.pk])
    with pytest.raises(DatabaseError), transaction.atomic():
        PenaltyLine.objects.create(
            ruling=approved, person=line.person, share_percent=Decimal("1"), reverses=line, deduction=Decimal("-1")
        )
    with pytest.raises(DatabaseError), transaction.atomic():
        PenaltyRuling.objects.filter(pk=approved.pk).update(total_deduction=Decimal("1.00"))
    fresh = PenaltyRuling.objects.get(pk=approved.pk)
    assert (fresh.status, fresh.total_deduction) == ("approved", Decimal("800.00"))
    assert PenaltyLine.objects.get(pk=line.pk).deduction == Decimal("800.00")


def test_the_database_lets_a_proposal_change_before_approval(ruled_case, gm_office):
    ruling = open_and_propose(case=ruled_case, by=gm_office)
    with connection.cursor() as cursor:
        cursor.execute("UPDATE penalties_penaltyruling SET reason = 'draft note' WHERE id = %s", [ruling.pk])
    assert PenaltyRuling.objects.get(pk=ruling.pk).reason == "draft note"


def test_the_database_refuses_to_edit_or_delete_the_audit_trail(approved):
    entry = AuditEntry.objects.filter(ruling=approved).first()
    _refused("UPDATE penalties_auditentry SET action = 'nothing' WHERE id = %s", [entry.pk])
    _refused("DELETE FROM penalties_auditentry WHERE id = %s", [entry.pk])
    with pytest.raises(DatabaseError), transaction.atomic():
        AuditEntry.objects.filter(pk=entry.pk).delete()
    assert AuditEntry.objects.get(pk=entry.pk).action == entry.action


@pytest.mark.postgres
@pytest.mark.skipif(not is_postgres(), reason="the deferred shares check is a PostgreSQL constraint trigger")
def test_postgresql_checks_at_commit_that_shares_add_up_to_100(ruled_case, gm_office):
    ruling = open_and_propose(case=ruled_case, by=gm_office)
    line = ruling.lines.get()
    with pytest.raises(DatabaseError, match="add up"), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("UPDATE penalties_penaltyline SET share_percent = 60 WHERE id = %s", [line.pk])
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
    assert PenaltyLine.objects.get(pk=line.pk).share_percent == Decimal("100")


def test_a_ruling_past_its_draft_cannot_store_a_total_other_than_100(ruled_case, gm_office):
    ruling = open_and_propose(case=ruled_case, by=gm_office)
    with pytest.raises(DatabaseError), transaction.atomic():
        PenaltyRuling.objects.filter(pk=ruling.pk).update(shares_total=Decimal("99.99"))
