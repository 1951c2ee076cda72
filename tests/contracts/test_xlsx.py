import datetime as dt
import io

import pytest
from openpyxl import Workbook, load_workbook

from contracts.xlsx import UnsupportedWorkbook, read_first_sheet


def workbook_bytes(build) -> bytes:
    workbook = Workbook()
    build(workbook)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def openpyxl_rows(content: bytes):
    workbook = load_workbook(io.BytesIO(content), read_only=True, data_only=True)
    rows = [(n, list(values)) for n, values in enumerate(workbook.worksheets[0].iter_rows(values_only=True), start=1)]
    workbook.close()
    return rows


def strip(rows):
    """Trailing empty cells and wholly empty rows do not matter to an import."""
    result = []
    for number, values in rows:
        while values and values[-1] is None:
            values = values[:-1]
        if values:
            result.append((number, values))
    return result


def test_the_lean_reader_reads_what_openpyxl_reads():
    def build(workbook):
        sheet = workbook.active
        sheet.append(["合同编号", "客户名称", "开始日期", "费用", "有效", "备注"])
        sheet.append(["MC-1", "上海精密机械有限公司", dt.datetime(2030, 4, 1), 1200, True, None])
        sheet.append(["MC-2", "东方印刷厂", dt.datetime(2030, 4, 1, 8, 30), 1200.5, False, "多行\n备注"])
        sheet.append([])
        sheet.append([None, None, dt.date(2031, 3, 31), 0.1, None, 20260001])
        sheet["C5"].number_format = 'yyyy"年"m"月"d"日"'
        sheet["D2"].number_format = "#,##0.00"
        sheet["Z7"] = "far away"
        # A second sheet is not read.
        workbook.create_sheet("other").append(["ignored"])

    content = workbook_bytes(build)
    assert strip(read_first_sheet(content)) == strip(openpyxl_rows(content))
    rows = dict(read_first_sheet(content))
    assert rows[5][2] == dt.datetime(2031, 3, 31)
    assert rows[7][25] == "far away"


def test_a_sheet_that_is_not_the_first_file_in_the_archive_is_found():
    def build(workbook):
        workbook.create_sheet("first", 0).append(["A"])
        workbook.worksheets[1].append(["B"])

    content = workbook_bytes(build)
    assert read_first_sheet(content) == [(1, ["A"])]


def test_what_it_cannot_read_it_says_so():
    with pytest.raises(UnsupportedWorkbook):
        read_first_sheet(b"PK\x03\x04 not a zip")
