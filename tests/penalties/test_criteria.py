"""The criteria table: the standard's row by default, versions with effective dates, history never changes."""

import datetime as dt
from decimal import Decimal

import pytest
from django.contrib.admin.models import ADDITION, CHANGE, LogEntry
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from complaints.models import CauseCategory
from penalties import services
from penalties.models import AuditEntry, CriteriaRow, CriteriaVersion, PenaltyKind
from servicedesk.exceptions import ApplicationError
from servicedesk.roles import Role
from tests.factories import UserFactory

from .conftest import approved_ruling, make_ruled_case, open_and_propose


def _minor(version):
    return version.rows.get(penalty_kind__code="minor_demerit")


def test_the_standards_row_is_there_by_default(db):
    (version,) = CriteriaVersion.objects.all()
    no_loss, row = version.rows.order_by("loss_from")
    assert row.penalty_kind.code == "minor_demerit"
    assert (row.amount_per_unit, row.base_units, row.cause_category, row.loss_from, row.loss_to) == (
        Decimal("800"),
        1,
        None,
        Decimal("0.01"),
        None,
    )
    assert PenaltyKind.objects.get(code="minor_demerit").minimum_per_unit == Decimal("800.00")
    # A loss of 0.00 is a warning without a deduction, not a minor demerit.
    assert (no_loss.penalty_kind.code, no_loss.loss_from, no_loss.loss_to) == ("warning", Decimal("0"), Decimal("0.01"))
    assert no_loss.amount_per_unit == Decimal("0")


@pytest.mark.parametrize(
    "loss,kind,deduction",
    [("0.00", "warning", "0.00"), ("0.01", "minor_demerit", "800.00"), ("1234.56", "minor_demerit", "800.00")],
)
def test_the_default_table_covers_every_loss_from_zero(unit, technician, gm_office, loss, kind, deduction):
    costs = [loss] if Decimal(loss) else []
    case = make_ruled_case(unit=unit, responsible_person=technician, costs=costs)
    line = open_and_propose(case=case, by=gm_office).lines.get()
    assert (line.loss_share, line.penalty_kind.code, line.deduction) == (Decimal(loss), kind, Decimal(deduction))


def test_the_bracket_lookup_at_each_boundary():
    from penalties.arithmetic import RowFacts, choose_row

    rows = [
        RowFacts(pk=1, cause_category_id=None, loss_from=Decimal("0.00"), loss_to=Decimal("0.01")),
        RowFacts(pk=2, cause_category_id=None, loss_from=Decimal("0.01"), loss_to=Decimal("500.00")),
        RowFacts(pk=3, cause_category_id=None, loss_from=Decimal("500.00"), loss_to=None),
        RowFacts(pk=4, cause_category_id=7, loss_from=Decimal("100.00"), loss_to=Decimal("200.00")),
    ]
    expected = {
        "0.00": 1,
        "0.01": 2,
        "499.99": 2,
        "500.00": 3,
        "500.01": 3,
        "9999999999.99": 3,
    }
    for loss, pk in expected.items():
        assert choose_row(rows, cause_category_id=None, loss=Decimal(loss)).pk == pk, loss
        # A cause without rows of its own falls back to the rows for any cause.
        assert choose_row(rows, cause_category_id=8, loss=Decimal(loss)).pk == pk, loss
    # A cause's own rows: from inclusive, to exclusive, and nothing outside them.
    assert choose_row(rows, cause_category_id=7, loss=Decimal("100.00")).pk == 4
    assert choose_row(rows, cause_category_id=7, loss=Decimal("199.99")).pk == 4
    assert choose_row(rows, cause_category_id=7, loss=Decimal("200.00")) is None
    assert choose_row(rows, cause_category_id=7, loss=Decimal("99.99")) is None
    assert choose_row(rows, cause_category_id=None, loss=Decimal("-0.01")) is None


@pytest.fixture
def admin_user(db):
    return UserFactory(username="admin", is_staff=True, roles=[Role.ADMINISTRATOR])


def test_a_version_in_force_cannot_be_edited(admin_user):
    version = CriteriaVersion.objects.get()
    row = _minor(version)
    row.amount_per_unit = Decimal("900")
    with pytest.raises(ApplicationError, match="new version"):
        services.criteria_row_save(user=admin_user, row=row)
    with pytest.raises(ApplicationError, match="new version"):
        services.criteria_row_delete(user=admin_user, row=CriteriaRow.objects.get(pk=row.pk))
    assert CriteriaRow.objects.get(pk=row.pk).amount_per_unit == Decimal("800")


def test_a_new_version_cannot_take_effect_in_the_past(admin_user):
    with pytest.raises(ApplicationError, match="today or later"):
        services.criteria_version_create(user=admin_user, effective_from=timezone.localdate() - dt.timedelta(days=1))


def test_a_minor_demerit_deducts_at_least_800_per_base_unit(admin_user):
    version = services.criteria_version_create(
        user=admin_user, effective_from=timezone.localdate() + dt.timedelta(days=1)
    )
    row = _minor(version)
    row.amount_per_unit = Decimal("799.99")
    with pytest.raises(ApplicationError, match="at least 800"):
        services.criteria_row_save(user=admin_user, row=row)


def test_overlapping_brackets_for_one_cause_are_refused(admin_user):
    version = services.criteria_version_create(
        user=admin_user, effective_from=timezone.localdate() + dt.timedelta(days=1)
    )
    minor = PenaltyKind.objects.get(code="minor_demerit")
    clash = CriteriaRow(version=version, loss_from=Decimal("10"), penalty_kind=minor, amount_per_unit=Decimal("800"))
    with pytest.raises(ApplicationError, match="overlaps"):
        services.criteria_row_save(user=admin_user, row=clash)


def test_a_new_version_does_not_change_past_rulings(unit, technician, gm_office, manager, admin_user):
    ruling = approved_ruling(
        case=make_ruled_case(unit=unit, responsible_person=technician, costs=["500"]), by=gm_office, approver=manager
    )
    today = timezone.localdate()
    version = services.criteria_version_create(user=admin_user, effective_from=today + dt.timedelta(days=1))
    row = _minor(version)
    row.amount_per_unit = Decimal("1500")
    services.criteria_row_save(user=admin_user, row=row)
    # The day comes: the new version is in force, and the old ruling still reads as it was approved.
    assert services.criteria_version_in_force(on=today + dt.timedelta(days=1)) == version
    line = ruling.lines.get()
    line.refresh_from_db()
    assert (line.amount_per_unit, line.deduction, line.criteria_row.amount_per_unit) == (
        Decimal("800"),
        Decimal("800.00"),
        Decimal("800"),
    )


def test_the_version_in_force_on_the_case_date_is_used(unit, technician, gm_office, admin_user):
    today = timezone.localdate()
    later = services.criteria_version_create(user=admin_user, effective_from=today + dt.timedelta(days=10))
    row = _minor(later)
    row.amount_per_unit = Decimal("2000")
    services.criteria_row_save(user=admin_user, row=row)
    day = timezone.make_aware(dt.datetime.combine(today + dt.timedelta(days=10), dt.time(9)))
    old_case = make_ruled_case(unit=unit, responsible_person=technician, costs=["100"])
    new_case = make_ruled_case(unit=unit, responsible_person=technician, costs=["100"], received_at=day, ruled_at=day)
    old = open_and_propose(case=old_case, by=gm_office)
    new = open_and_propose(case=new_case, by=gm_office)
    assert old.criteria_version != later and old.lines.get().deduction == Decimal("800.00")
    assert new.criteria_version == later and new.lines.get().deduction == Decimal("2000.00")


def test_a_cause_with_its_own_rows_uses_them(unit, technician, gm_office, admin_user):
    version = CriteriaVersion.objects.get()
    warning = PenaltyKind.objects.get(code="warning")
    attitude = CauseCategory.objects.get(code="service_attitude")
    # The first version is in force already: a test may add rows only behind the services' back.
    CriteriaRow.objects.create(
        version=version,
        cause_category=attitude,
        loss_from=Decimal("0"),
        loss_to=Decimal("500"),
        penalty_kind=warning,
        amount_per_unit=Decimal("100"),
        base_units=Decimal("1"),
    )
    case = make_ruled_case(unit=unit, responsible_person=technician, costs=["499.99"], cause="service_attitude")
    line = open_and_propose(case=case, by=gm_office).lines.get()
    assert (line.penalty_kind, line.deduction) == (warning, Decimal("100.00"))
    case = make_ruled_case(unit=unit, responsible_person=technician, costs=["500"], cause="service_attitude")
    with pytest.raises(ApplicationError, match="no row"):
        open_and_propose(case=case, by=gm_office)


def test_the_admin_keeps_the_table_with_versions_and_audits_it(admin_user):
    client = Client()
    admin_user.is_staff = True
    admin_user.save()
    client.force_login(admin_user)
    current = CriteriaVersion.objects.get()
    assert (
        client.post(reverse("admin:penalties_criteriaversion_change", args=[current.pk]), {"note": "x"}).status_code
        == 403
    )
    response = client.post(
        reverse("admin:penalties_criteriaversion_changelist"),
        {"action": "copy_to_new_version", "_selected_action": [current.pk]},
    )
    assert response.status_code == 302
    new = CriteriaVersion.objects.exclude(pk=current.pk).get()
    assert new.rows.count() == 2
    # The admin log has the copy (an action, which the admin does not log by itself) and, below, the edit.
    logged = LogEntry.objects.filter(content_type__model="criteriaversion", object_id=str(new.pk))
    assert list(logged.values_list("action_flag", "user_id")) == [(ADDITION, admin_user.pk)]
    no_loss, row = new.rows.order_by("loss_from")
    minor = PenaltyKind.objects.get(code="minor_demerit")
    form = {
        "effective_from": new.effective_from.isoformat(),
        "note": "2027 table",
        "rows-TOTAL_FORMS": "3",
        "rows-INITIAL_FORMS": "2",
        "rows-MIN_NUM_FORMS": "0",
        "rows-MAX_NUM_FORMS": "1000",
        "rows-0-id": no_loss.pk,
        "rows-0-version": new.pk,
        "rows-0-cause_category": "",
        "rows-0-loss_from": "0",
        "rows-0-loss_to": "0.01",
        "rows-0-penalty_kind": no_loss.penalty_kind_id,
        "rows-0-amount_per_unit": "0",
        "rows-0-base_units": "1",
        "rows-0-note": "",
        "rows-1-id": row.pk,
        "rows-1-version": new.pk,
        "rows-1-cause_category": "",
        "rows-1-loss_from": "0.01",
        "rows-1-loss_to": "10000",
        "rows-1-penalty_kind": minor.pk,
        "rows-1-amount_per_unit": "800",
        "rows-1-base_units": "1",
        "rows-1-note": "",
        "rows-2-version": new.pk,
        "rows-2-cause_category": "",
        "rows-2-loss_from": "10000",
        "rows-2-loss_to": "",
        "rows-2-penalty_kind": PenaltyKind.objects.get(code="major_demerit").pk,
        "rows-2-amount_per_unit": "1000",
        "rows-2-base_units": "2",
        "rows-2-note": "",
    }
    response = client.post(reverse("admin:penalties_criteriaversion_change", args=[new.pk]), form)
    assert response.status_code == 302, response.content.decode()[:3000]
    assert new.rows.count() == 3
    edit = logged.get(action_flag=CHANGE)
    assert edit.user_id == admin_user.pk and "criteria row" in edit.get_change_message().lower()
    actions = set(AuditEntry.objects.filter(entity__startswith="criteria").values_list("action", flat=True))
    assert {"criteria_version_create", "criteria_row_change", "criteria_row_add"} <= actions
    # A minor demerit below 800 is a form error, not a 500, and nothing is saved.
    form["rows-2-penalty_kind"] = minor.pk
    form["rows-2-amount_per_unit"] = "700"
    form["rows-2-id"] = new.rows.get(loss_from=Decimal("10000")).pk
    form["rows-INITIAL_FORMS"] = "3"
    response = client.post(reverse("admin:penalties_criteriaversion_change", args=[new.pk]), form)
    assert response.status_code == 200 and "at least" in response.text
    assert new.rows.get(loss_from=Decimal("10000")).amount_per_unit == Decimal("1000")
