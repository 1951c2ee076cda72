"""A lean reader of the first worksheet of an .xlsx workbook: cell values only, row by row.

openpyxl's read-only mode builds a Python cell object for every cell; on a
100,000-row import that was most of the time spent. This reads the sheet's XML
with ElementTree's C parser and keeps only what an import needs: shared and
inline strings, numbers, booleans, and dates (numbers in a date format).
Anything it does not expect raises ``UnsupportedWorkbook``; the caller then
reads the file with openpyxl instead.
"""

import datetime as dt
import io
import posixpath
import re
import zipfile

# Expat (2.4+) refuses entity-expansion bombs and never fetches external entities.
from xml.etree import ElementTree as ET

MAIN = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
DOC_REL = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}"
PKG_REL = "{http://schemas.openxmlformats.org/package/2006/relationships}"

# Built-in number formats that are dates or times (ECMA-376 18.8.30, with the CJK ones Chinese Excel uses).
BUILTIN_DATE_FORMATS = frozenset({14, 15, 16, 17, 18, 19, 20, 21, 22, 45, 46, 47, *range(27, 37), *range(50, 59)})
# A custom format is a date format when, outside quoted text, escapes and [..] sections, it has d, m, y, h or s.
_NOT_CODES = re.compile(r'"[^"]*"|\\.|\[[^\]]*\]|_.|\*.')
_DATE_CODES = re.compile(r"[dmyhse]", re.IGNORECASE)
EPOCH_1900 = dt.datetime(1899, 12, 30)
EPOCH_1904 = dt.datetime(1904, 1, 1)


class UnsupportedWorkbook(Exception):
    pass


def read_first_sheet(content: bytes) -> list[tuple[int, list]]:
    """(row number, values) of every row of the first worksheet; a value is str, int, float, bool, datetime or None."""
    try:
        with zipfile.ZipFile(io.BytesIO(content)) as archive:
            sheet_path, epoch = _first_sheet(archive)
            shared = _shared_strings(archive)
            date_styles = _date_styles(archive)
            with archive.open(sheet_path) as sheet:
                return list(_rows(sheet, shared, date_styles, epoch))
    except UnsupportedWorkbook:
        raise
    except (KeyError, ValueError, IndexError, TypeError, AttributeError, ET.ParseError, zipfile.BadZipFile) as exc:
        raise UnsupportedWorkbook(str(exc)) from exc


def _first_sheet(archive: zipfile.ZipFile) -> tuple[str, dt.datetime]:
    workbook = ET.fromstring(archive.read("xl/workbook.xml"))  # noqa: S314
    properties = workbook.find(f"{MAIN}workbookPr")
    date1904 = properties is not None and properties.get("date1904") in ("1", "true")
    first = workbook.find(f"{MAIN}sheets/{MAIN}sheet")
    if first is None:
        raise UnsupportedWorkbook("no worksheet")
    rel_id = first.get(f"{DOC_REL}id")
    rels = ET.fromstring(archive.read("xl/_rels/workbook.xml.rels"))  # noqa: S314
    for rel in rels.iter(f"{PKG_REL}Relationship"):
        if rel.get("Id") == rel_id:
            target = rel.get("Target")
            path = target.lstrip("/") if target.startswith("/") else posixpath.normpath(posixpath.join("xl", target))
            return path, EPOCH_1904 if date1904 else EPOCH_1900
    raise UnsupportedWorkbook("the first worksheet is not in the workbook's relationships")


def _text(element) -> str:
    """The text of a string item: its own <t>, or its rich-text runs' <t>, never the phonetic guide (<rPh>)."""
    own = element.find(f"{MAIN}t")
    if own is not None:
        return own.text or ""
    return "".join(t.text or "" for run in element.findall(f"{MAIN}r") for t in run.findall(f"{MAIN}t"))


def _shared_strings(archive: zipfile.ZipFile) -> list[str]:
    try:
        data = archive.read("xl/sharedStrings.xml")
    except KeyError:
        return []
    return [_text(item) for item in ET.fromstring(data).iter(f"{MAIN}si")]  # noqa: S314


def _date_styles(archive: zipfile.ZipFile) -> frozenset[int]:
    try:
        styles = ET.fromstring(archive.read("xl/styles.xml"))  # noqa: S314
    except KeyError:
        return frozenset()
    custom = {}
    for fmt in styles.iter(f"{MAIN}numFmt"):
        code = _NOT_CODES.sub("", fmt.get("formatCode", ""))
        custom[int(fmt.get("numFmtId"))] = bool(_DATE_CODES.search(code)) and "General" not in code
    cell_xfs = styles.find(f"{MAIN}cellXfs")
    if cell_xfs is None:
        return frozenset()
    dates = set()
    for index, xf in enumerate(cell_xfs.findall(f"{MAIN}xf")):
        fmt_id = int(xf.get("numFmtId", "0"))
        if fmt_id in BUILTIN_DATE_FORMATS or custom.get(fmt_id, False):
            dates.add(index)
    return frozenset(dates)


def _column_index(ref: str) -> int:
    index = 0
    for char in ref:
        if char.isdigit():
            break
        index = index * 26 + (ord(char.upper()) - 64)
    return index - 1


def _rows(sheet, shared: list[str], date_styles: frozenset[int], epoch: dt.datetime):
    row_tag, cell_tag, value_tag, inline_tag = f"{MAIN}row", f"{MAIN}c", f"{MAIN}v", f"{MAIN}is"
    expected_row = 0
    for _event, element in ET.iterparse(sheet, events=("end",)):  # noqa: S314
        if element.tag != row_tag:
            continue
        expected_row = int(element.get("r") or expected_row + 1)
        values: list = []
        for cell in element.iter(cell_tag):
            ref = cell.get("r")
            column = _column_index(ref) if ref else len(values)
            if column < len(values):
                raise UnsupportedWorkbook(f"cells out of order in row {expected_row}")
            values.extend([None] * (column - len(values)))
            kind = cell.get("t", "n")
            raw = cell.findtext(value_tag)
            if kind == "s":
                value = shared[int(raw)]
            elif kind == "inlineStr":
                inline = cell.find(inline_tag)
                value = _text(inline) if inline is not None else ""
            elif kind in ("str", "e"):
                value = raw or ""
            elif kind == "b":
                value = raw == "1"
            elif kind == "d":
                value = dt.datetime.fromisoformat(raw) if raw else None
            elif raw is None or raw == "":
                value = None
            else:
                number = float(raw) if any(c in raw for c in ".eE") else int(raw)
                if int(cell.get("s", "0")) in date_styles:
                    # Days as a float: round to the millisecond, as Excel shows times.
                    value = epoch + dt.timedelta(milliseconds=round(number * 86_400_000))
                else:
                    value = number
            values.append(value)
        element.clear()
        yield expected_row, values
