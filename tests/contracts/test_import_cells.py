"""Every cell of a contract import is checked into the bounds of the column it fills (issue 12): a bad cell is
reported with its line and reason, the import ends rejected with nothing imported, never an exception or an
import left "checking rows"."""

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone, translation

from contracts.models import Contract, ContractImport
from contracts.services import contract_import_restart, contract_import_run, contract_import_upload
from contracts.services import imports as import_service
from servicedesk.exceptions import ApplicationError
from tests.factories import CustomerFactory, ProductFactory

from .test_imports import HEADER, csv_bytes, errors_by_line, row, xlsx_bytes


@pytest.fixture(autouse=True)
def _english():
    # The messages are asserted in English, whatever an earlier test left active.
    with translation.override("en"):
        yield


def run(user, content, filename="contracts.csv"):
    batch = contract_import_upload(user=user, unit=user.unit, filename=filename, content=content)
    return contract_import_run(import_id=batch.pk)


BAD_CELLS = [
    ("fee", "1e26", "larger than 9,999,999,999.99"),
    ("fee", "12345678901", "larger than"),
    ("fee", "1E+999999999", "larger than"),
    ("fee", "NaN", "not an amount"),
    ("fee", "sNaN", "not an amount"),
    ("fee", "Infinity", "not an amount"),
    ("fee", "-Infinity", "not an amount"),
    ("fee", "-5", "negative"),
    ("fee", "1.005", "more than 2 decimal places"),
    ("fee", "1E-999999", "more than 2 decimal places"),
    ("start_on", "0001-01-01", "between 1900-01-01 and 2999-12-31"),
    ("start_on", "1899-12-31", "between"),
    ("end_on", "9999-12-31", "between"),
    ("end_on", "3000-01-01", "between"),
    ("start_on", "NaN", "not a date"),
    ("end_on", "1e26", "not a date"),
    ("contract_number", "N" * 41, "longer than 40 characters"),
    ("customer_name", "客" * 201, "longer than 200 characters"),
    ("customer_phone", "1" * 33, "longer than 32 characters"),
    ("customer_email", "a" * 250 + "@example.com", "longer than 254 characters"),
    ("serial_numbers", "S" * 65, "longer than 64 characters"),
    ("product_model", "M" * 101, "longer than 100 characters"),
]


@pytest.mark.parametrize("column,value,reason", BAD_CELLS)
def test_a_bad_cell_is_reported_with_its_line_and_reason(dispatcher, contract_type, column, value, reason):
    batch = run(dispatcher, csv_bytes([row("OK-1"), row("BAD-1", **{column: value})]))
    assert batch.status == ContractImport.Status.REJECTED
    assert not Contract.objects.exists()
    errors = errors_by_line(batch)[3]
    # (A new customer's phone that is too long is also a missing phone: both on the phone column.)
    assert {c for c, _message in errors} == {column}
    assert reason in errors[0][1]


@pytest.mark.parametrize(
    "column,value,reason",
    [
        ("fee", 1e26, "larger than"),
        ("fee", float("nan"), "not an amount"),
        ("fee", float("inf"), "not an amount"),
        ("fee", 10**30, "larger than"),
        ("start_on", dt.datetime(1, 1, 1), "not a date"),  # before Excel's calendar: a negative number
        ("end_on", dt.datetime(9999, 12, 31), "between"),
        ("start_on", 1e26, "not a date"),
    ],
)
def test_a_bad_excel_cell_is_reported_with_its_row_and_reason(dispatcher, contract_type, column, value, reason):
    batch = run(dispatcher, xlsx_bytes([row("OK-1"), row("BAD-1", **{column: value})]), filename="c.xlsx")
    assert batch.status == ContractImport.Status.REJECTED, (batch.message, batch.errors)
    assert [(c, reason in message) for c, message in errors_by_line(batch)[3]] == [(column, True)]


def test_a_huge_number_in_a_date_formatted_excel_cell_is_not_a_date(dispatcher, contract_type):
    from openpyxl import Workbook

    workbook = Workbook()
    sheet = workbook.active
    sheet.append(HEADER)
    sheet.append(row("XL-1", start_on=1e26))
    sheet["F2"].number_format = "yyyy-mm-dd"
    import io

    buffer = io.BytesIO()
    workbook.save(buffer)
    batch = run(dispatcher, buffer.getvalue(), filename="c.xlsx")
    assert batch.status == ContractImport.Status.REJECTED
    assert errors_by_line(batch)[2][0][0] == "start_on"


def test_an_error_names_the_column_as_the_files_header_does(client, dispatcher, contract_type):
    header = ["合同编号", "客户名称", "客户电话", "开始日期", "结束日期", "费用", "机号", "型号"]
    content = csv_bytes(
        [["甲-1", "东方印刷厂", "021-5555-0102", "0001-01-01", "2031/03/31", "1e26", "SN-甲", "SX"]], header
    )
    batch = run(dispatcher, content)
    assert {(error["column"], error["header"]) for error in batch.errors} == {("start_on", "开始日期"), ("fee", "费用")}
    client.force_login(dispatcher)
    page = client.get(reverse("contracts:import_detail", args=[batch.pk])).text
    assert "<td>开始日期</td>" in page and "<td>费用</td>" in page
    assert "start_on" not in page and "<td>fee</td>" not in page


def test_a_column_the_file_lacks_is_named_by_its_label_in_the_users_language(dispatcher, contract_type):
    header = ["合同编号", "客户名称", "开始日期", "结束日期", "费用", "机号"]
    with translation.override("zh-hans"):
        batch = run(dispatcher, csv_bytes([["乙-1", "新客户", "2030-01-01", "2030-12-31", "100", "SN-乙"]], header))
    # A new customer needs a phone and a new serial number a model, and the file has neither column.
    assert {(e["column"], e["header"]) for e in batch.errors} == {
        ("customer_phone", "客户电话"),
        ("product_model", "产品型号"),
    }


def test_another_units_contract_number_is_not_revealed(dispatcher, other_dispatcher, contract_type):
    Contract.objects.create(
        number="THEIRS-1",
        unit=other_dispatcher.unit,
        customer=CustomerFactory(unit=other_dispatcher.unit),
        contract_type=contract_type,
    )
    batch = run(dispatcher, csv_bytes([row("THEIRS-1")]))
    [error] = batch.errors
    assert error["message"] == "This row cannot be imported for this unit."
    assert "exists" not in error["message"] and "THEIRS" not in error["message"]


def test_another_units_serial_number_is_not_revealed(dispatcher, other_dispatcher, contract_type):
    ProductFactory(customer=CustomerFactory(unit=other_dispatcher.unit), serial_number="SN-OTHER")
    batch = run(dispatcher, csv_bytes([row("MINE-1", serial_numbers="SN-OTHER")]))
    assert [e["message"] for e in batch.errors] == ["This row cannot be imported for this unit."]


# --- Never stuck ---------------------------------------------------------------------------------------


def test_an_unexpected_error_fails_the_import_with_a_general_message(dispatcher, contract_type, monkeypatch, caplog):
    def broken(**kwargs):
        raise RuntimeError("secret internals")

    monkeypatch.setattr(import_service, "validate_rows", broken)
    batch = run(dispatcher, csv_bytes([row("U-1")]))
    assert batch.status == ContractImport.Status.FAILED
    assert "unexpected error" in batch.message and "secret" not in batch.message
    assert batch.finished_at is not None
    assert "secret internals" in caplog.text  # logged for the administrator
    assert not Contract.objects.exists()


def test_an_error_while_importing_fails_the_import_and_rolls_back(dispatcher, contract_type, monkeypatch):
    original = import_service._insert

    def insert(model, columns, rows, **kwargs):
        if model is Contract:
            raise ValueError("boom")
        return original(model, columns, rows, **kwargs)

    monkeypatch.setattr(import_service, "_insert", insert)
    batch = run(dispatcher, csv_bytes([row("V-1")]))
    assert batch.status == ContractImport.Status.FAILED
    assert not Contract.objects.exists()


def stuck(dispatcher, minutes):
    batch = contract_import_upload(
        user=dispatcher, unit=dispatcher.unit, filename="c.csv", content=csv_bytes([row("W-1")])
    )
    ContractImport.objects.filter(pk=batch.pk).update(
        status=ContractImport.Status.VALIDATING, updated_at=timezone.now() - dt.timedelta(minutes=minutes)
    )
    return batch


def test_a_stuck_import_can_be_started_again_from_its_page(client, dispatcher, contract_type):
    batch = stuck(dispatcher, minutes=30)
    client.force_login(dispatcher)
    assert "Start again" in client.get(reverse("contracts:import_detail", args=[batch.pk])).text
    client.post(reverse("contracts:import_restart", args=[batch.pk]))
    batch.refresh_from_db()
    assert batch.status == ContractImport.Status.IMPORTED
    assert Contract.objects.filter(number="W-1").exists()


def test_an_import_still_running_cannot_be_started_twice(client, dispatcher, contract_type):
    batch = stuck(dispatcher, minutes=1)
    with pytest.raises(ApplicationError):
        contract_import_restart(user=dispatcher, import_id=batch.pk)
    client.force_login(dispatcher)
    assert "Start again" not in client.get(reverse("contracts:import_detail", args=[batch.pk])).text
    batch.refresh_from_db()
    assert batch.status == ContractImport.Status.VALIDATING
