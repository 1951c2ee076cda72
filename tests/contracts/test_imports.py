import csv
import datetime as dt
import io
from decimal import Decimal

import pytest
from django.urls import reverse
from openpyxl import Workbook

from contracts.models import Contract, ContractImport, ContractTerm
from contracts.services import contract_import_accept_valid_rows, contract_import_run, contract_import_upload
from contracts.services import imports as import_service
from repairs.models import Customer, Product
from servicedesk.exceptions import ApplicationError
from tests.factories import CustomerFactory, ProductFactory

HEADER = import_service.TEMPLATE_HEADER


def row(number, **overrides):
    values = {
        "contract_number": number,
        "customer_name": f"客户 {number}",
        "customer_phone": "021-5555-0101",
        "customer_email": "",
        "contract_type": "standard",
        "start_on": "2030-04-01",
        "end_on": "2031-03-31",
        "fee": "1200.00",
        "visit_frequency": "quarterly",
        "serial_numbers": f"SN-{number}",
        "product_model": "SX-100",
    }
    values.update(overrides)
    return [values[column] for column in HEADER]


def csv_bytes(rows, header=HEADER, encoding="utf-8"):
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer)
    writer.writerow(header)
    writer.writerows(rows)
    return buffer.getvalue().encode(encoding)


def xlsx_bytes(rows, header=HEADER):
    workbook = Workbook()
    sheet = workbook.active
    sheet.append(header)
    for cells in rows:
        sheet.append(cells)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def run(user, content, filename="contracts.csv", **kwargs):
    batch = contract_import_upload(user=user, unit=user.unit, filename=filename, content=content, **kwargs)
    return contract_import_run(import_id=batch.pk)


def errors_by_line(batch):
    found = {}
    for error in batch.errors:
        found.setdefault(error["line"], []).append((error["column"], error["message"]))
    return found


def test_a_clean_csv_file_is_imported_whole(dispatcher, contract_type):
    batch = run(dispatcher, csv_bytes([row("A-1"), row("A-2", end_on="2020-12-31", start_on="2020-01-01")]))
    assert batch.status == ContractImport.Status.IMPORTED
    assert batch.rows_imported == 2
    assert batch.content in (b"", memoryview(b""))
    first = Contract.objects.get(number="A-1")
    assert first.import_batch == batch  # the import record says who imported it, when and from which file
    assert first.unit == dispatcher.unit
    assert first.customer.name == "客户 A-1"
    assert first.customer.unit == dispatcher.unit
    assert list(first.products.values_list("serial_number", flat=True)) == ["SN-A-1"]
    term = first.terms.get()
    assert (term.start_on, term.end_on, term.fee) == (dt.date(2030, 4, 1), dt.date(2031, 3, 31), Decimal("1200.00"))
    assert term.notice_on == dt.date(2031, 2, 28)
    assert term.status == ContractTerm.Status.ACTIVE
    # An old contract typed in after its end is already expired.
    assert Contract.objects.get(number="A-2").terms.get().status == ContractTerm.Status.EXPIRED


def test_rows_naming_an_existing_customer_and_product_use_them(dispatcher, contract_type):
    customer = CustomerFactory(unit=dispatcher.unit, name="上海精密机械有限公司")
    product = ProductFactory(customer=customer, serial_number="SN-OLD")
    batch = run(
        dispatcher,
        csv_bytes(
            [row("B-1", customer_name="上海精密机械有限公司", customer_phone="", serial_numbers="SN-OLD;SN-NEW")]
        ),
    )
    assert batch.status == ContractImport.Status.IMPORTED, batch.errors
    contract = Contract.objects.get(number="B-1")
    assert contract.customer == customer
    assert set(contract.products.all()) == {product, Product.objects.get(serial_number="SN-NEW")}
    assert Customer.objects.filter(name="上海精密机械有限公司").count() == 1


def test_every_bad_row_is_reported_with_its_line_and_nothing_is_imported(dispatcher, other_dispatcher, contract_type):
    ProductFactory(customer=CustomerFactory(unit=other_dispatcher.unit), serial_number="SN-THEIRS")
    Contract.objects.create(
        number="TAKEN",
        unit=dispatcher.unit,
        customer=CustomerFactory(unit=dispatcher.unit),
        contract_type=contract_type,
    )
    rows = [
        row("C-1"),  # line 2: fine
        row("", customer_name=""),  # line 3
        row("C-3", end_on="2030-03-01"),  # line 4: ends before it starts
        row("C-4", start_on="31/03/2030"),  # line 5
        row("C-5", fee="-5"),  # line 6
        row("C-1", serial_numbers="SN-X1"),  # line 7: number twice in the file
        row("TAKEN", serial_numbers="SN-X2"),  # line 8
        row("C-8", serial_numbers="SN-THEIRS"),  # line 9
        row("C-9", contract_type="platinum"),  # line 10
        row("C-10", customer_phone=""),  # line 11: a new customer needs a phone
        row("C-11", fee="12.345"),  # line 12
        row("C-12", serial_numbers=""),  # line 13
        row("C-13", visit_frequency="daily"),  # line 14
        row("C-14", serial_numbers="SN-C-1"),  # line 15: serial number twice in the file
    ]
    batch = run(dispatcher, csv_bytes(rows))
    assert batch.status == ContractImport.Status.REJECTED
    assert not Contract.objects.filter(number__startswith="C-").exists()
    assert batch.rows_total == 14
    assert batch.rows_valid == 1
    found = errors_by_line(batch)
    assert sorted(found) == list(range(3, 16))
    assert {column for column, _message in found[3]} == {"contract_number", "customer_name"}
    assert found[4] == [("end_on", found[4][0][1])]
    assert found[5][0][0] == "start_on"
    assert found[6][0][0] == "fee"
    assert "line 2" in found[7][0][1]
    assert "already exists" in found[8][0][1]
    # Another unit's serial number is neither named nor said to exist elsewhere.
    assert found[9] == [("serial_numbers", "This row cannot be imported for this unit.")]
    assert found[10][0][0] == "contract_type"
    assert found[11][0][0] == "customer_phone"
    assert found[12][0][0] == "fee"
    assert found[13][0][0] == "serial_numbers"
    assert found[14][0][0] == "visit_frequency"
    assert "line 2" in found[15][0][1]


def test_asked_to_the_good_rows_are_imported_and_the_bad_ones_reported(dispatcher, contract_type):
    batch = run(dispatcher, csv_bytes([row("D-1"), row("D-2", fee="abc"), row("D-3")]), import_valid_rows=True)
    assert batch.status == ContractImport.Status.IMPORTED
    assert batch.rows_imported == 2
    assert batch.error_count == 1
    assert errors_by_line(batch)[3][0][0] == "fee"
    assert set(Contract.objects.values_list("number", flat=True)) == {"D-1", "D-3"}


def test_after_seeing_the_errors_the_uploader_may_import_the_good_rows(dispatcher, contract_type):
    batch = run(dispatcher, csv_bytes([row("E-1"), row("E-2", end_on="never")]))
    assert batch.status == ContractImport.Status.REJECTED
    contract_import_accept_valid_rows(user=dispatcher, import_id=batch.pk)
    batch = contract_import_run(import_id=batch.pk)
    assert batch.status == ContractImport.Status.IMPORTED
    assert list(Contract.objects.values_list("number", flat=True)) == ["E-1"]
    with pytest.raises(ApplicationError):
        contract_import_accept_valid_rows(user=dispatcher, import_id=batch.pk)


def test_a_file_where_no_row_is_valid_imports_nothing_even_when_asked(dispatcher, contract_type):
    batch = run(dispatcher, csv_bytes([row("F-1", fee="x")]), import_valid_rows=True)
    assert batch.status == ContractImport.Status.REJECTED
    assert not Contract.objects.exists()


def test_an_excel_workbook_is_imported_with_dates_and_numbers_as_cells(dispatcher, contract_type):
    rows = [
        row("G-1", start_on=dt.datetime(2030, 4, 1), end_on=dt.datetime(2031, 3, 31), fee=1200.5),
        row("G-2", fee=800, serial_numbers=20260001),
    ]
    batch = run(dispatcher, xlsx_bytes(rows), filename="contracts.xlsx")
    assert batch.status == ContractImport.Status.IMPORTED, batch.errors
    assert Contract.objects.get(number="G-1").terms.get().fee == Decimal("1200.50")
    assert Contract.objects.get(number="G-2").products.get().serial_number == "20260001"


def test_excel_errors_are_reported_by_row_number(dispatcher, contract_type):
    rows = [row("H-1"), [None] * len(HEADER), row("H-3", end_on="2029-01-01")]
    batch = run(dispatcher, xlsx_bytes(rows), filename="contracts.xlsx")
    assert batch.status == ContractImport.Status.REJECTED
    # The blank row 3 is skipped; the bad row is row 4 of the sheet.
    assert list(errors_by_line(batch)) == [4]


def test_a_gbk_csv_with_chinese_headers_is_read(dispatcher, contract_type):
    header = ["合同编号", "客户名称", "客户电话", "开始日期", "结束日期", "费用", "机号", "型号"]
    content = csv_bytes(
        [["甲-1", "东方印刷厂", "021-5555-0102", "2030/04/01", "2031/03/31", "￥1,200", "SN-甲", "SX"]], header
    )
    batch = run(dispatcher, content.decode("utf-8").encode("gbk"))
    assert batch.status == ContractImport.Status.IMPORTED, (batch.message, batch.errors)
    contract = Contract.objects.get(number="甲-1")
    assert contract.customer.name == "东方印刷厂"
    assert contract.terms.get().fee == Decimal("1200.00")


def test_utf8_with_bom_and_utf16_are_read(dispatcher, contract_type):
    assert run(dispatcher, b"\xef\xbb\xbf" + csv_bytes([row("I-1")])).status == ContractImport.Status.IMPORTED
    utf16 = csv_bytes([row("I-2")]).decode("utf-8").encode("utf-16")
    assert run(dispatcher, utf16).status == ContractImport.Status.IMPORTED


@pytest.mark.parametrize(
    "content",
    [
        b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00",  # a picture
        bytes(range(128, 256)) * 4,  # bytes that are neither UTF-8 nor GB18030
    ],
)
def test_a_file_in_no_known_encoding_fails_with_a_message(dispatcher, contract_type, content):
    batch = run(dispatcher, content)
    assert batch.status == ContractImport.Status.FAILED
    assert "UTF-8" in batch.message
    assert not Contract.objects.exists()


def test_an_old_xls_or_a_broken_xlsx_fails_with_a_message(dispatcher, contract_type):
    batch = run(dispatcher, b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 100, filename="old.xls")
    assert batch.status == ContractImport.Status.FAILED
    assert ".xls" in batch.message
    batch = run(dispatcher, b"PK\x03\x04 broken", filename="broken.xlsx")
    assert batch.status == ContractImport.Status.FAILED
    assert "Excel" in batch.message


def test_an_empty_file_is_refused(dispatcher, contract_type):
    with pytest.raises(ApplicationError):
        contract_import_upload(user=dispatcher, unit=dispatcher.unit, filename="x.csv", content=b"")
    assert run(dispatcher, b"\n\n , ,\n").message == "The file is empty."
    assert "no contracts" in run(dispatcher, csv_bytes([])).message


def test_a_header_without_the_needed_columns_is_refused(dispatcher, contract_type):
    batch = run(dispatcher, b"name,phone\nA,1\n")
    assert batch.status == ContractImport.Status.FAILED
    assert "Contract number" in batch.message
    assert "contract_number" not in batch.message


def test_a_file_with_too_many_rows_is_refused(dispatcher, contract_type, monkeypatch):
    monkeypatch.setattr(import_service, "MAX_IMPORT_ROWS", 5)
    batch = run(dispatcher, csv_bytes([row(f"J-{i}") for i in range(6)]))
    assert batch.status == ContractImport.Status.FAILED
    assert "more than 5 rows" in batch.message


def test_a_file_too_large_is_refused_at_upload(dispatcher, contract_type, monkeypatch):
    monkeypatch.setattr(import_service, "MAX_IMPORT_BYTES", 100)
    with pytest.raises(ApplicationError):
        contract_import_upload(user=dispatcher, unit=dispatcher.unit, filename="x.csv", content=b"x" * 101)


def test_line_numbers_count_lines_inside_quoted_cells(dispatcher, contract_type):
    content = csv_bytes([row("K-1", customer_name="多行\n客户"), row("K-2", fee="bad")])
    batch = run(dispatcher, content)
    assert list(errors_by_line(batch)) == [4]


def test_a_broken_csv_quote_fails_with_its_line(dispatcher, contract_type):
    content = csv_bytes([row("L-1")]) + b'L-2,"unterminated\n'
    batch = run(dispatcher, content)
    assert batch.status in (ContractImport.Status.FAILED, ContractImport.Status.REJECTED)
    assert not Contract.objects.exists()


def test_a_product_already_under_contract_for_those_dates_is_refused(dispatcher, make_contract, contract_type):
    customer = CustomerFactory(unit=dispatcher.unit, name="重复客户")
    product = ProductFactory(customer=customer, serial_number="SN-DUP")
    make_contract(
        user=dispatcher, customer=customer, product=product, start_on=dt.date(2030, 1, 1), end_on=dt.date(2030, 12, 31)
    )
    batch = run(dispatcher, csv_bytes([row("M-1", customer_name="重复客户", serial_numbers="SN-DUP")]))
    assert batch.status == ContractImport.Status.REJECTED
    assert "already covered" in batch.errors[0]["message"]


def test_a_second_run_of_the_same_import_does_nothing(dispatcher, contract_type):
    batch = run(dispatcher, csv_bytes([row("N-1")]))
    assert contract_import_run(import_id=batch.pk).status == ContractImport.Status.IMPORTED
    assert Contract.objects.count() == 1


def test_the_import_queries_stay_flat_as_rows_grow(dispatcher, contract_type, django_assert_max_num_queries):
    with django_assert_max_num_queries(60) as small:
        run(dispatcher, csv_bytes([row(f"P-{i}") for i in range(10)]))
    with django_assert_max_num_queries(len(small.captured_queries) + 25):
        # 3,000 rows: a few more batches of 2,000, not thousands of queries.
        run(dispatcher, csv_bytes([row(f"Q-{i}") for i in range(3000)]))
    assert Contract.objects.count() == 3010


# --- Pages ---------------------------------------------------------------------------------------------


def upload(client, content, name="contracts.csv", **data):
    file = io.BytesIO(content)
    file.name = name
    return client.post(reverse("contracts:import"), {"file": file, **data})


def test_a_small_file_is_checked_while_the_uploader_waits(
    client, dispatcher, contract_type, django_capture_on_commit_callbacks
):
    client.force_login(dispatcher)
    with django_capture_on_commit_callbacks(execute=True):
        response = upload(client, csv_bytes([row("R-1"), row("R-2", fee="x")]))
    batch = ContractImport.objects.get()
    assert response.status_code == 302
    assert response.url == batch.get_absolute_url()
    page = client.get(response.url)
    assert "nothing was imported" in page.text
    assert "Import the 1 valid rows" in page.text
    assert "<td>3</td>" in page.text  # the bad row's line
    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("contracts:import_valid_rows", args=[batch.pk]))
    assert list(Contract.objects.values_list("number", flat=True)) == ["R-1"]


def test_a_large_file_goes_to_the_worker_and_the_page_polls(
    client, dispatcher, contract_type, monkeypatch, django_capture_on_commit_callbacks
):
    from contracts import tasks
    from contracts.views import imports as import_views

    monkeypatch.setattr(import_views, "INLINE_IMPORT_BYTES", 10)
    queued = []
    monkeypatch.setattr(tasks.run_contract_import, "apply_async", lambda args, **kw: queued.append(args))
    client.force_login(dispatcher)
    with django_capture_on_commit_callbacks(execute=True):
        response = upload(client, csv_bytes([row("S-1")]))
    batch = ContractImport.objects.get()
    assert queued == [[batch.pk]]
    assert batch.status == ContractImport.Status.QUEUED
    page = client.get(response.url)
    assert 'hx-trigger="every 1s"' in page.text
    tasks.run_contract_import(batch.pk)
    progress = client.get(reverse("contracts:import_progress", args=[batch.pk]), headers={"HX-Request": "true"})
    assert progress["HX-Refresh"] == "true"
    assert Contract.objects.filter(number="S-1").exists()


def test_the_upload_form_refuses_other_file_types(client, dispatcher):
    client.force_login(dispatcher)
    response = upload(client, b"hello", name="contracts.pdf")
    assert response.status_code == 400
    assert not ContractImport.objects.exists()


@pytest.mark.parametrize(
    "language,first", [("en", "Contract number"), ("zh-hans", "合同编号")], ids=["english", "chinese"]
)
def test_the_template_names_the_columns_in_the_readers_language_and_is_read_back(client, dispatcher, language, first):
    client.force_login(dispatcher)
    response = client.get(reverse("contracts:import_template"), headers={"accept-language": language})
    header = response.content.decode("utf-8-sig").splitlines()[0].split(",")
    assert header[0] == first and len(header) == len(HEADER)
    # Each heading the template uses is one the import reads: the file fills in and goes back as it is.
    assert sorted(import_service._map_header(header)) == sorted(HEADER)


def test_the_import_page_lists_the_columns_by_their_names_not_their_codes(client, dispatcher):
    client.force_login(dispatcher)
    page = client.get(reverse("contracts:import"), headers={"accept-language": "zh-hans"}).content.decode()
    assert "合同编号" in page and "contract_number" not in page
