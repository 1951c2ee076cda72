"""Stock pages: scoped to the unit, fixed query counts, the clerk's forms, low stock, parts used, the import."""

import io
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from parts import services
from parts.catalogue import part_catalogue_import
from parts.models import Part, Stock, StockMinimum, StockMovement
from servicedesk.exceptions import ApplicationError
from servicedesk.roles import Role
from tests.factories import UserFactory


def stocked(dispatcher, technician, unit, n_parts):
    parts = []
    for i in range(n_parts):
        part = Part.objects.create(part_number=f"P-{i:03d}", name=f"Part {i}", unit_price=Decimal("10.00"))
        services.part_stock_receive(user=dispatcher, unit_id=unit.pk, part_id=part.pk, quantity=5)
        services.part_issue_to_technician(user=dispatcher, technician_id=technician.pk, part_id=part.pk, quantity=2)
        StockMinimum.objects.create(part=part, unit=unit, minimum_quantity=4 + i % 2)
        parts.append(part)
    return parts


@pytest.mark.parametrize("name", ["parts:stock", "parts:low_stock", "parts:used_report"])
def test_stock_pages_run_a_fixed_number_of_queries(
    client, dispatcher, technician, unit, name, django_assert_max_num_queries
):
    client.force_login(dispatcher)
    stocked(dispatcher, technician, unit, 2)
    with django_assert_max_num_queries(12) as few:
        assert client.get(reverse(name)).status_code == 200
    stocked_more = [f"Q-{i}" for i in range(15)]
    for number in stocked_more:
        part = Part.objects.create(part_number=number, name=number, unit_price=Decimal("1.00"))
        services.part_stock_receive(user=dispatcher, unit_id=unit.pk, part_id=part.pk, quantity=1)
        services.part_issue_to_technician(user=dispatcher, technician_id=technician.pk, part_id=part.pk, quantity=1)
        StockMinimum.objects.create(part=part, unit=unit, minimum_quantity=3)
    with django_assert_max_num_queries(len(few.captured_queries)):
        assert client.get(reverse(name)).status_code == 200


def test_the_stock_page_shows_the_store_and_the_vans_of_the_unit_only(
    client, dispatcher, technician, unit, other_dispatcher, other_unit
):
    stocked(dispatcher, technician, unit, 1)
    client.force_login(dispatcher)
    page = client.get(reverse("parts:stock")).text
    assert "P-000" in page and str(technician) in page
    client.force_login(other_dispatcher)
    assert "P-000" not in client.get(reverse("parts:stock")).text


def test_another_units_van_and_issue_note_are_404(client, dispatcher, technician, unit, other_dispatcher):
    stocked(dispatcher, technician, unit, 1)
    movement = StockMovement.objects.get(kind="issued")
    client.force_login(other_dispatcher)
    assert client.get(reverse("parts:van", args=[technician.pk])).status_code == 404
    assert client.get(reverse("parts:issue_note_pdf", args=[movement.pk])).status_code == 404
    assert client.get(reverse("parts:movement_new", args=["receive"]) + f"?unit={unit.pk}").status_code == 404


def test_the_issue_note_pdf_is_in_chinese(client, dispatcher, technician, unit):
    from pypdf import PdfReader

    stocked(dispatcher, technician, unit, 1)
    movement = StockMovement.objects.get(kind="issued")
    client.force_login(technician)
    response = client.get(reverse("parts:issue_note_pdf", args=[movement.pk]))
    assert response.status_code == 200
    text = PdfReader(io.BytesIO(response.content)).pages[0].extract_text()
    assert "领料单" in text and "P-000" in text and "20.00" in text


def test_the_clerk_issues_parts_on_the_form_and_a_shortage_is_a_form_error(client, dispatcher, technician, unit):
    [part] = stocked(dispatcher, technician, unit, 1)
    client.force_login(dispatcher)
    url = reverse("parts:movement_new", args=["issue"])
    response = client.post(url, {"part": part.pk, "technician": technician.pk, "quantity": 9})
    assert response.status_code == 400 and "The store holds only 3 of part P-000." in response.text
    response = client.post(url, {"part": part.pk, "technician": technician.pk, "quantity": 3})
    assert response.status_code == 302
    assert Stock.objects.get(part=part, technician=technician).quantity == 5


def test_a_technician_cannot_open_the_clerks_forms(client, technician):
    client.force_login(technician)
    assert client.get(reverse("parts:movement_new", args=["receive"])).status_code == 403


def test_the_low_stock_list_shows_parts_below_the_units_minimum(client, dispatcher, technician, unit):
    stocked(dispatcher, technician, unit, 2)  # 3 in store each; minimums 4 and 5
    never = Part.objects.create(part_number="NEVER", name="Never received", unit_price=Decimal("1.00"))
    StockMinimum.objects.create(part=never, unit=unit, minimum_quantity=1)
    fine = Part.objects.create(part_number="FINE", name="Enough", unit_price=Decimal("1.00"))
    services.part_stock_receive(user=dispatcher, unit_id=unit.pk, part_id=fine.pk, quantity=10)
    StockMinimum.objects.create(part=fine, unit=unit, minimum_quantity=2)
    client.force_login(dispatcher)
    rows = client.get(reverse("parts:low_stock")).context["rows"]
    assert [(r.part.part_number, r.in_store, r.short_by) for r in rows] == [
        ("NEVER", 0, 1),
        ("P-000", 3, 1),
        ("P-001", 3, 2),
    ]


def test_the_parts_used_report_adds_up_a_month_per_part(client, dispatcher, technician, unit):
    [a, b] = stocked(dispatcher, technician, unit, 2)
    for lines in ([services.UseLine(a.pk, 2)], [services.UseLine(a.pk, -1), services.UseLine(b.pk, 1)]):
        services.part_use(
            user=technician, technician_id=technician.pk, lines=lines, reference_kind="voucher", reference_id=1
        )
    client.force_login(dispatcher)
    month = timezone.localdate().strftime("%Y-%m")
    rows = client.get(reverse("parts:used_report"), {"month": month}).context["rows"]
    assert [(r["part__part_number"], r["quantity"], r["value"]) for r in rows] == [
        ("P-000", 1, Decimal("10.00")),
        ("P-001", 1, Decimal("10.00")),
    ]


def test_head_office_chooses_the_unit(client, head_office_user, dispatcher, technician, unit):
    stocked(dispatcher, technician, unit, 1)
    reader = UserFactory(username="ho-reader", unit=head_office_user.unit, roles=[Role.DISPATCHER])
    client.force_login(reader)
    assert client.get(reverse("parts:stock")).context["report"] is None
    assert "P-000" in client.get(reverse("parts:stock"), {"unit": unit.pk}).text


# --- The catalogue import (CSV/Excel through the contracts reader) ------------------------------------------


@pytest.fixture
def admin(db):
    return UserFactory(username="catalogue-admin", unit=None, roles=[Role.ADMINISTRATOR])


def test_a_csv_catalogue_creates_and_updates_parts_by_number(admin):
    Part.objects.create(part_number="FU-220", name="Old name", unit_price=Decimal("1.00"))
    content = "零件号,名称,单价,保修免费\nFU-220,定影器,50.25,是\nTN-10,碳粉,80,否\n".encode()
    outcome = part_catalogue_import(user=admin, content=content, filename="parts.csv")
    assert (outcome.created, outcome.updated) == (1, 1)
    assert Part.objects.get(part_number="FU-220").name == "定影器"
    toner = Part.objects.get(part_number="TN-10")
    assert toner.unit_price == Decimal("80") and toner.warranty_free is False


def test_an_xlsx_catalogue_is_read_too(admin):
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    sheet.append(["part number", "name", "unit price"])
    sheet.append(["MB-100", "Main board", 260])
    out = io.BytesIO()
    book.save(out)
    assert part_catalogue_import(user=admin, content=out.getvalue(), filename="parts.xlsx").created == 1


@pytest.mark.parametrize(
    "row, message",
    [
        (",x,1", "the part number is missing"),
        ("A,,1", "the name is missing"),
        ("A,x,-1", "the unit price is not an amount"),
        ("A,x,1.234", "the unit price is not an amount"),
        ("A,x,1\nA,y,2", "appears twice"),
    ],
)
def test_a_wrong_row_imports_nothing_and_says_which_line(admin, row, message):
    content = f"part number,name,unit price\nGOOD,ok,1\n{row}\n".encode()
    with pytest.raises(ApplicationError, match=message):
        part_catalogue_import(user=admin, content=content, filename="parts.csv")
    assert not Part.objects.exists()


def test_only_those_who_keep_the_catalogue_may_import(dispatcher):
    with pytest.raises(ApplicationError, match="may not change the parts catalogue"):
        part_catalogue_import(user=dispatcher, content=b"part number,name,unit price\nA,x,1\n", filename="p.csv")


def test_the_admin_import_page_imports_a_file(client, admin):
    from django.core.files.uploadedfile import SimpleUploadedFile

    admin.is_staff = True
    admin.save()
    client.force_login(admin)
    url = reverse("admin:parts_part_import")
    assert client.get(url).status_code == 200
    upload = SimpleUploadedFile("parts.csv", b"part number,name,unit price\nA-1,x,1.50\n", content_type="text/csv")
    assert client.post(url, {"file": upload}).status_code == 302
    assert Part.objects.get().unit_price == Decimal("1.50")
