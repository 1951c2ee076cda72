"""Decompression and entity-expansion bombs in a contract import (issue 12): each is refused with a message, the
import ends failed and nothing is saved. The bombs are built here, small on disk: zip members of repeated bytes
compress about a thousandfold."""

import dataclasses
import io
import zipfile

import pytest
from django.utils import translation

from contracts.models import Contract, ContractImport
from contracts.services import contract_import_run, contract_import_upload
from contracts.xlsx import WorkbookRefused, read_first_sheet
from repairs.models import Customer
from servicedesk import uploads

from .test_imports import HEADER, csv_bytes, row, xlsx_bytes


@pytest.fixture(autouse=True)
def _english():
    # The messages are asserted in English, whatever an earlier test left active.
    with translation.override("en"):
        yield


MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"


def run(user, content, filename="contracts.xlsx"):
    batch = contract_import_upload(user=user, unit=user.unit, filename=filename, content=content)
    return contract_import_run(import_id=batch.pk)


def replaced(content: bytes, members: dict[str, bytes]) -> bytes:
    """A copy of the workbook ``content`` with some members replaced or added."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(content)) as source, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            if info.filename not in members:
                target.writestr(info, source.read(info.filename))
        for name, data in members.items():
            target.writestr(name, data)
    return out.getvalue()


def good_workbook() -> bytes:
    return xlsx_bytes([row("BOMB-1")])


def assert_refused(batch, words):
    assert batch.status == ContractImport.Status.FAILED
    assert words in batch.message
    assert not Contract.objects.exists() and not Customer.objects.exists()


def test_a_zip_bomb_is_refused_by_its_compression_ratio(dispatcher, contract_type):
    # 8 MB of one byte, about 8 kB packed: a ratio of a thousand.
    content = replaced(good_workbook(), {"xl/worksheets/sheet1.xml": b"<" * (8 * uploads.MB)})
    assert len(content) < 30_000
    batch = run(dispatcher, content)
    assert_refused(batch, "when unpacked")
    assert f"{uploads.XLSX_LIMITS.total_bytes // uploads.MB} MB" in batch.message


def test_a_workbook_larger_than_the_unpacked_limit_is_refused(dispatcher, contract_type, monkeypatch):
    limits = dataclasses.replace(uploads.XLSX_LIMITS, total_bytes=2 * uploads.MB, ratio=10_000)
    monkeypatch.setattr(uploads, "XLSX_LIMITS", limits)
    content = replaced(good_workbook(), {"xl/media/padding.bin": b"\0" * (3 * uploads.MB)})
    assert_refused(run(dispatcher, content), "larger than 2 MB when unpacked")


def test_a_member_larger_than_its_limit_is_refused(dispatcher, contract_type, monkeypatch):
    limits = dataclasses.replace(uploads.XLSX_LIMITS, member_bytes=uploads.MB, ratio=10_000)
    monkeypatch.setattr(uploads, "XLSX_LIMITS", limits)
    content = replaced(good_workbook(), {"xl/media/one.bin": b"\0" * (uploads.MB + 1)})
    assert_refused(run(dispatcher, content), "when unpacked")


def test_a_workbook_of_too_many_parts_is_refused(dispatcher, contract_type):
    parts = {f"xl/media/{n}.bin": b"" for n in range(uploads.XLSX_LIMITS.members)}
    assert_refused(run(dispatcher, replaced(good_workbook(), parts)), "parts")


def shared_strings(count: int, text: str) -> bytes:
    item = f"<si><t>{text}</t></si>".encode()
    return f'<?xml version="1.0" encoding="UTF-8"?><sst xmlns="{MAIN}">'.encode() + item * count + b"</sst>"


def test_a_shared_strings_bomb_is_refused(dispatcher, contract_type):
    # The attack in the issue (240 MB of shared strings in 246 kB) in small: 12 MB from about 40 kB, refused
    # from the zip's directory before anything is parsed (bench/uploads.py runs the full-size one).
    data = shared_strings(12 * uploads.MB // 100, "x" * 87)
    content = replaced(good_workbook(), {"xl/sharedStrings.xml": data})
    assert len(content) < 100_000
    assert_refused(run(dispatcher, content), "when unpacked")


def test_too_many_shared_strings_are_refused_while_read(dispatcher, contract_type, monkeypatch):
    # Within the size and ratio bounds, the count of strings is bounded on its own.
    limits = dataclasses.replace(uploads.XLSX_LIMITS, shared_strings=1000)
    monkeypatch.setattr(uploads, "XLSX_LIMITS", limits)
    content = replaced(good_workbook(), {"xl/sharedStrings.xml": shared_strings(1001, "x")})
    assert_refused(run(dispatcher, content), "more than 1000 different texts")


def test_a_cell_longer_than_excel_allows_is_refused():
    content = replaced(good_workbook(), {"xl/sharedStrings.xml": shared_strings(1, "x" * 40_000)})
    with pytest.raises(WorkbookRefused, match="32767 characters"):
        read_first_sheet(content)


BILLION_LAUGHS = (
    b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
    + b"".join(b'<!ENTITY lol%d "%s">' % (n, (b"&lol%d;" % (n - 1) if n > 1 else b"&lol;") * 10) for n in range(1, 10))
    + b']><sst xmlns="' + MAIN.encode() + b'"><si><t>&lol9;</t></si></sst>'
)  # fmt: skip


@pytest.mark.parametrize(
    "member",
    ["xl/sharedStrings.xml", "xl/worksheets/sheet1.xml", "xl/workbook.xml", "[Content_Types].xml"],
)
def test_billion_laughs_in_any_member_is_refused(dispatcher, contract_type, member):
    assert_refused(run(dispatcher, replaced(good_workbook(), {member: BILLION_LAUGHS})), "DTD")


def test_a_dtd_after_comments_and_instructions_is_still_found():
    sneaky = (
        b'\xef\xbb\xbf<?xml version="1.0"?>\n<!-- '
        + b"-" * 10_000
        + b' --><?pi x?>\n  <!DOCTYPE x [<!ENTITY a "b">]><x/>'
    )
    with pytest.raises(WorkbookRefused, match="DTD"):
        read_first_sheet(replaced(good_workbook(), {"xl/sharedStrings.xml": sneaky}))


def test_a_utf16_member_is_refused_not_parsed():
    utf16 = '<?xml version="1.0" encoding="UTF-16"?><!DOCTYPE x><x/>'.encode("utf-16")
    with pytest.raises(WorkbookRefused):
        read_first_sheet(replaced(good_workbook(), {"xl/sharedStrings.xml": utf16}))


def sheet(rows_xml: bytes) -> bytes:
    return (
        f'<?xml version="1.0"?><worksheet xmlns="{MAIN}"><sheetData>'.encode() + rows_xml + b"</sheetData></worksheet>"
    )


def test_a_sheet_of_too_many_rows_is_refused(dispatcher, contract_type, monkeypatch):
    limits = dataclasses.replace(uploads.XLSX_LIMITS, rows=100)
    monkeypatch.setattr(uploads, "XLSX_LIMITS", limits)
    content = replaced(good_workbook(), {"xl/worksheets/sheet1.xml": sheet(b"<row/>" * 101)})
    assert_refused(run(dispatcher, content), "more than 100 rows")


def test_a_cell_far_to_the_right_counts_every_cell_before_it(dispatcher, contract_type, monkeypatch):
    limits = dataclasses.replace(uploads.XLSX_LIMITS, cells=10_000)
    monkeypatch.setattr(uploads, "XLSX_LIMITS", limits)
    rows = b"".join(b'<row r="%d"><c r="ZZ%d"><v>1</v></c></row>' % (n, n) for n in range(1, 30))
    assert_refused(run(dispatcher, replaced(good_workbook(), {"xl/worksheets/sheet1.xml": sheet(rows)})), "cells")


def test_one_huge_row_is_refused_as_it_is_read():
    # A million empty cells in one row: refused once one row's elements pass Excel's column count.
    content = replaced(good_workbook(), {"xl/worksheets/sheet1.xml": sheet(b"<row>" + b"<c/>" * 1_000_000 + b"</row>")})
    with pytest.raises(WorkbookRefused, match="cells"):
        read_first_sheet(content, limits=dataclasses.replace(uploads.XLSX_LIMITS, ratio=100_000))


def test_a_workbook_within_the_bounds_still_imports(dispatcher, contract_type):
    batch = run(dispatcher, good_workbook())
    assert batch.status == ContractImport.Status.IMPORTED, (batch.message, batch.errors)


# --- CSV ----------------------------------------------------------------------------------------------


def test_a_csv_line_longer_than_the_bound_is_refused(dispatcher, contract_type):
    content = csv_bytes([row("LONG-1"), ["x," * uploads.CSV_LINE_CHARS]])
    batch = run(dispatcher, content, filename="contracts.csv")
    assert_refused(batch, f"Line 3 is longer than {uploads.CSV_LINE_CHARS} characters")


def test_a_huge_csv_cell_is_refused_with_its_line(dispatcher, contract_type):
    # A quoted cell over many short lines: the csv module's own field limit, reported with the line.
    cell = '"' + "x\n" * 80_000 + '"'
    content = ",".join(HEADER).encode() + b"\n" + cell.encode() + b",a\n"
    batch = run(dispatcher, content, filename="contracts.csv")
    assert batch.status == ContractImport.Status.FAILED
    assert "Line" in batch.message
    assert not Contract.objects.exists()


def test_a_csv_of_too_many_lines_is_refused(dispatcher, contract_type, monkeypatch):
    monkeypatch.setattr(uploads, "XLSX_LIMITS", dataclasses.replace(uploads.XLSX_LIMITS, rows=50))
    content = csv_bytes([row("LINES-1")]) + b"\n" * 60
    assert_refused(run(dispatcher, content, filename="contracts.csv"), "more than 50 lines")


@pytest.mark.parametrize("end", ["\n", "\r\n", "\r"])
def test_csv_lines_end_as_the_csv_module_reads_them(dispatcher, contract_type, end):
    text = csv_bytes([row("END-1"), row("END-2", customer_name="两行\n客户")]).decode().replace("\r\n", end)
    batch = run(dispatcher, text.encode(), filename="contracts.csv")
    assert batch.status == ContractImport.Status.IMPORTED, (batch.message, batch.errors)
    assert Contract.objects.get(number="END-2").customer.name == "两行\n客户"


def test_a_sheet_longer_than_an_import_stops_as_soon_as_it_is_seen(dispatcher, contract_type, monkeypatch):
    from contracts.services import imports as import_service

    monkeypatch.setattr(import_service, "MAX_IMPORT_ROWS", 3)
    rows = b"".join(b'<row r="%d"><c r="A%d"><v>%d</v></c></row>' % (n, n, n) for n in range(1, 10))
    content = replaced(good_workbook(), {"xl/worksheets/sheet1.xml": sheet(rows)})
    assert_refused(run(dispatcher, content), "more than 4 rows")
