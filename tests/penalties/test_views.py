"""The pages: shares, proposal, adjustment, approval, ledger and exports, audit trail; flat query counts."""

import csv
import datetime as dt
import io
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone
from openpyxl import load_workbook

from penalties.models import AuditEntry, PenaltyKind, PenaltyRuling
from tests.factories import UserFactory

from .conftest import approved_ruling, make_ruled_case


@pytest.fixture
def gm_client(client, gm_office):
    client.force_login(gm_office)
    return client


def test_a_ruled_case_waits_on_the_list_and_opens_from_there(gm_client, ruled_case):
    page = gm_client.get(reverse("penalties:ruling_list"))
    assert ruled_case.number in page.text
    response = gm_client.post(reverse("penalties:ruling_open", args=[ruled_case.pk]))
    ruling = PenaltyRuling.objects.get(case=ruled_case)
    assert response.status_code == 302 and response.url == ruling.get_absolute_url()
    assert 'id="shares-form"' in gm_client.get(ruling.get_absolute_url()).text


def _shares_post(ruling, rows):
    data = {
        "version": ruling.version,
        "shares-TOTAL_FORMS": str(len(rows)),
        "shares-INITIAL_FORMS": "0",
        "shares-MIN_NUM_FORMS": "0",
        "shares-MAX_NUM_FORMS": "20",
    }
    for i, row in enumerate(rows):
        for key, value in row.items():
            data[f"shares-{i}-{key}"] = value
    return data


def test_shares_not_adding_up_are_a_form_error_and_save_nothing(
    gm_client, ruled_case, gm_office, technician, supervisor
):
    gm_client.post(reverse("penalties:ruling_open", args=[ruled_case.pk]))
    ruling = PenaltyRuling.objects.get(case=ruled_case)
    bad = _shares_post(
        ruling, [{"person": technician.pk, "share_percent": "70"}, {"person": supervisor.pk, "share_percent": "20"}]
    )
    response = gm_client.post(reverse("penalties:ruling_shares", args=[ruling.pk]), bad)
    assert response.status_code == 400 and "add up to 90" in response.text
    assert list(ruling.lines.values_list("person_id", flat=True)) == [technician.pk]
    rubbish = _shares_post(ruling, [{"person": technician.pk, "department": ruled_case.unit_id, "share_percent": "x"}])
    assert gm_client.post(reverse("penalties:ruling_shares", args=[ruling.pk]), rubbish).status_code == 400
    good = _shares_post(
        ruling, [{"person": technician.pk, "share_percent": "70"}, {"person": supervisor.pk, "share_percent": "30"}]
    )
    assert gm_client.post(reverse("penalties:ruling_shares", args=[ruling.pk]), good).status_code == 302
    assert ruling.lines.count() == 2


def test_propose_adjust_and_approve_through_the_pages(client, gm_client, ruled_case, manager):
    gm_client.post(reverse("penalties:ruling_open", args=[ruled_case.pk]))
    ruling = PenaltyRuling.objects.get(case=ruled_case)
    assert (
        gm_client.post(reverse("penalties:ruling_propose", args=[ruling.pk]), {"version": ruling.version}).status_code
        == 302
    )
    ruling.refresh_from_db()
    line = ruling.lines.get()
    page = gm_client.get(ruling.get_absolute_url()).text
    assert "Why:" in page and "800" in page
    url = reverse("penalties:line_adjust", args=[ruling.pk, line.pk])
    prefix = f"line{line.pk}"
    major = PenaltyKind.objects.get(code="major_demerit")
    form = {
        f"{prefix}-version": ruling.version,
        f"{prefix}-penalty_kind": major.pk,
        f"{prefix}-base_units": "2",
        f"{prefix}-amount_per_unit": "500",
        f"{prefix}-reason": "Repeat",
    }
    response = gm_client.post(url, form)
    assert response.status_code == 400 and "at least 800" in response.text
    form[f"{prefix}-amount_per_unit"] = "900"
    assert gm_client.post(url, form).status_code == 302
    ruling.refresh_from_db()
    assert ruling.total_deduction == Decimal("1800.00")
    # The GM office cannot approve (no permission); the manager can.
    assert (
        gm_client.post(reverse("penalties:ruling_approve", args=[ruling.pk]), {"version": ruling.version}).status_code
        == 403
    )
    client.force_login(manager)
    assert 'id="approve"' in client.get(ruling.get_absolute_url()).text
    stale = client.post(reverse("penalties:ruling_approve", args=[ruling.pk]), {"version": ruling.version - 1})
    assert stale.status_code == 400 and "meanwhile" in stale.text
    assert (
        client.post(reverse("penalties:ruling_approve", args=[ruling.pk]), {"version": ruling.version}).status_code
        == 302
    )
    assert PenaltyRuling.objects.get(pk=ruling.pk).status == "approved"


def test_a_penalised_manager_sees_why_they_cannot_approve(client, unit, gm_office, quality):
    from servicedesk.roles import Role

    head = UserFactory(username="head", unit=quality, roles=[Role.DEPARTMENT_HEAD])
    case = make_ruled_case(unit=unit, responsible_person=head, costs=["5"])
    from penalties import services

    ruling = services.ruling_open(user=gm_office, case_id=case.pk)
    services.ruling_propose(user=gm_office, ruling_id=ruling.pk)
    client.force_login(head)
    page = client.get(ruling.get_absolute_url()).text
    assert 'id="approve"' not in page and "penalised" in page
    assert (
        client.post(reverse("penalties:ruling_approve", args=[ruling.pk]), {"version": ruling.version + 1}).status_code
        == 400
    )


@pytest.fixture
def month_of_rulings(unit, technician, supervisor, gm_office, manager):
    return [
        approved_ruling(
            case=make_ruled_case(unit=unit, responsible_person=person, costs=["100"]), by=gm_office, approver=manager
        )
        for person in (technician, technician, supervisor)
    ]


def test_the_ledger_sums_each_persons_deductions_and_exports_them(gm_client, month_of_rulings, technician):
    page = gm_client.get(reverse("penalties:ledger"))
    assert page.status_code == 200 and "1600.00" in page.text and "2400.00" in page.text
    month = timezone.localdate().strftime("%Y-%m")
    csv_response = gm_client.get(reverse("penalties:ledger_export", args=["csv"]), {"month": month})
    rows = list(csv.reader(io.StringIO(csv_response.content.decode("utf-8-sig"))))
    assert rows[0][-1] == "Deduction (yuan)"
    assert sorted(r[-1] for r in rows[1:]) == ["1600.00", "800.00"]
    xlsx = gm_client.get(reverse("penalties:ledger_export", args=["xlsx"]), {"month": month, "party": "person"})
    sheet = load_workbook(io.BytesIO(xlsx.content)).active
    assert sorted(row[4] for row in sheet.iter_rows(min_row=2, values_only=True)) == [800, 1600]
    assert gm_client.get(reverse("penalties:ledger"), {"month": "2026-13"}).status_code == 400
    assert gm_client.get(reverse("penalties:ledger_export", args=["pdf"])).status_code == 404
    empty = gm_client.get(reverse("penalties:ledger"), {"month": "2001-01", "party": "department"})
    assert empty.status_code == 200 and "No approved deductions" in empty.text


def test_list_and_audit_pages_run_a_fixed_number_of_queries(
    gm_client, month_of_rulings, django_assert_max_num_queries, unit, technician, gm_office, manager
):
    with django_assert_max_num_queries(12) as few:
        gm_client.get(reverse("penalties:ruling_list"))
    with django_assert_max_num_queries(12) as few_audit:
        gm_client.get(reverse("penalties:audit_list"))
    for _ in range(5):
        approved_ruling(
            case=make_ruled_case(unit=unit, responsible_person=technician, costs=["1"]), by=gm_office, approver=manager
        )
    with django_assert_max_num_queries(len(few.captured_queries)):
        gm_client.get(reverse("penalties:ruling_list"))
    with django_assert_max_num_queries(len(few_audit.captured_queries)):
        page = gm_client.get(reverse("penalties:audit_list"))
    assert page.text.count("Ruling approved") == 8


def test_the_audit_trail_reads_as_names_labels_and_local_times_not_codes_and_ids(
    gm_client, ruled_case, gm_office, manager
):
    ruling = approved_ruling(case=ruled_case, by=gm_office, approver=manager)
    page = gm_client.get(reverse("penalties:audit_list"), headers={"accept-language": "zh-hans"}).text
    approval = AuditEntry.objects.get(action="ruling_approve")
    assert "批准处罚决定" in page and "ruling_approve" not in page
    assert str(manager) in page  # the approver by name, not by id
    local = timezone.localtime(dt.datetime.fromisoformat(approval.new_values["approved_at"])).strftime("%Y-%m-%d %H:%M")
    assert local in page
    assert "已核准" in page and "'status'" not in page and "approved_by" not in page
    assert ruling.number in page


def test_the_audit_trail_is_for_the_gm_office(client, month_of_rulings, technician, manager):
    client.force_login(manager)
    assert client.get(reverse("penalties:audit_list")).status_code == 403
    assert AuditEntry.objects.exists()


def test_the_appraisal_shows_each_technicians_penalties(
    client, month_of_rulings, unit, technician, supervisor, head_office_user
):
    from complaints import appraisal

    rows = {r.technician_id: r for r in appraisal.appraisal_for_month(unit_id=unit.pk, month=timezone.localdate())}
    assert rows[technician.pk].penalties == Decimal("1600.00")
    last_year = timezone.localdate().replace(year=timezone.localdate().year - 1)
    assert all(r.penalties is None for r in appraisal.appraisal_for_month(unit_id=unit.pk, month=last_year))


def test_a_refused_line_adjustment_on_an_approved_ruling_shows_the_reason(gm_client, ruled_case, gm_office, manager):
    ruling = approved_ruling(case=ruled_case, by=gm_office, approver=manager)
    line = ruling.lines.get()
    prefix = f"line{line.pk}"
    form = {
        f"{prefix}-version": ruling.version,
        f"{prefix}-penalty_kind": PenaltyKind.objects.get(code="major_demerit").pk,
        f"{prefix}-base_units": "2",
        f"{prefix}-amount_per_unit": "900",
        f"{prefix}-reason": "Repeat",
    }
    response = gm_client.post(reverse("penalties:line_adjust", args=[ruling.pk, line.pk]), form, follow=True)
    assert response.status_code == 200
    assert "An approved ruling never changes; make a correction instead." in response.text
    line.refresh_from_db()
    assert line.base_units == Decimal("1")
