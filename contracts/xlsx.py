"""A lean reader of the first worksheet of an .xlsx workbook: cell values only, row by row, within bounds.

openpyxl's read-only mode builds a Python cell object for every cell; on a
100,000-row import that was most of the time spent. This reads the sheet's XML
with ElementTree's C parser and keeps only what an import needs: shared and
inline strings, numbers, booleans, and dates (numbers in a date format).
Anything it does not expect raises ``UnsupportedWorkbook``; the caller then
reads the file with openpyxl instead (only a small one: see ``check_archive``).

A workbook is a zip of XML, so a 250 kB upload can unpack to gigabytes (issue 12). Before anything is parsed,
``check_archive`` refuses, from the zip's directory, a workbook whose members unpack to more than
``servicedesk.uploads.XLSX_LIMITS`` allows (in total, each, and by compression ratio; zipfile never returns more
than a member's declared size), and any XML member with a DTD (entity declarations: the "billion laughs").
While reading, rows, cells and shared strings are counted against the same limits; a refusal is
``WorkbookRefused`` with a message for the user, never a fallback to openpyxl.
"""

import datetime as dt
import io
import math
import posixpath
import re
import zipfile

# The C parser for speed; a DTD never reaches it (check_archive), and Expat (2.4+) bounds entity expansion anyway.
from xml.etree import ElementTree as ET

from django.utils.translation import gettext as _

from servicedesk import uploads

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


# The largest serial day Excel shows as a date (9999-12-31); larger or non-finite numbers stay numbers.
LAST_SERIAL_DAY = 2_958_465
MAX_COLUMNS = 16_384  # Excel's own limit (XFD)
# Elements the parser may hold between two rows' ends (a row's cells and their values): bounds one row's memory.
MAX_ELEMENTS_PER_ROW = MAX_COLUMNS * 8


class UnsupportedWorkbook(Exception):
    pass


class WorkbookRefused(Exception):
    """Beyond the bounds of an upload: ``message`` tells the user why."""

    def __init__(self, message):
        super().__init__(message)
        self.message = message


def read_first_sheet(
    content: bytes, *, limits: uploads.UnpackLimits | None = None, max_rows: int | None = None
) -> list[tuple[int, list]]:
    """(row number, values) of every row of the first worksheet that has a value; a value is str, int, float,
    bool, datetime or None. Raises ``WorkbookRefused`` beyond the limits or beyond ``max_rows`` rows with a
    value (the caller's own bound, checked as the rows are read), ``UnsupportedWorkbook`` otherwise."""
    limits = limits or uploads.XLSX_LIMITS
    try:
        with zipfile.ZipFile(io.BytesIO(content)) as archive:
            check_archive(archive, limits)
            shared = _shared_strings(archive, limits)
            sheet_path, epoch = _first_sheet(archive, limits)
            date_styles = _date_styles(archive, limits)
            with _open_member(archive, sheet_path, limits) as sheet:
                rows = []
                for row in _rows(sheet, shared, date_styles, epoch, limits):
                    rows.append(row)
                    if max_rows is not None and len(rows) > max_rows:
                        raise WorkbookRefused(
                            _("The file has more than %(rows)d rows; split it into smaller files.") % {"rows": max_rows}
                        )
                return rows
    except (UnsupportedWorkbook, WorkbookRefused):
        raise
    except (KeyError, ValueError, IndexError, TypeError, AttributeError, ET.ParseError, zipfile.BadZipFile) as exc:
        raise UnsupportedWorkbook(str(exc)) from exc


# --- Bounds ---------------------------------------------------------------------------------------------


def _too_large(limits) -> WorkbookRefused:
    return WorkbookRefused(uploads.unpacked_too_large_message(limits))


def check_archive(archive: zipfile.ZipFile, limits: uploads.UnpackLimits) -> int:
    """Refuse, before parsing, a workbook that unpacks beyond ``limits`` or holds a DTD; returns its unpacked size."""
    members = archive.infolist()
    if len(members) > limits.members:
        raise WorkbookRefused(
            _("The Excel file has more than %(count)d parts; save it again from Excel.") % {"count": limits.members}
        )
    total = 0
    for member in members:
        total += member.file_size
        if member.file_size > limits.member_bytes or total > limits.total_bytes:
            raise _too_large(limits)
        if member.file_size > limits.ratio_from_bytes and member.file_size > limits.ratio * max(
            member.compress_size, 1
        ):
            raise _too_large(limits)
    for member in members:
        if member.filename.endswith((".xml", ".rels")):
            with _open_member(archive, member.filename, limits) as stream:
                stream.read(1)  # reads and checks the prolog
    return total


def _prolog_end(head: bytes, *, complete: bool) -> int | None:
    """Where the root element starts in ``head``, or None when ``head`` ends first; refuses a DTD.

    A document type declaration (and with it every entity declaration) may only stand in the prolog, before
    the root element, among the XML declaration, comments, processing instructions and white space: so a
    prolog without one means the document has none.
    """
    if head.startswith((b"\xff\xfe", b"\xfe\xff")) or b"\x00" in head[:4]:
        # Excel writes UTF-8; a UTF-16 member would hide its prolog from this check.
        raise WorkbookRefused(_("The file is not a valid Excel .xlsx workbook; save it again from Excel."))
    i = 3 if head.startswith(b"\xef\xbb\xbf") else 0
    size = len(head)
    while True:
        while i < size and head[i] in b" \t\r\n":
            i += 1
        if size - i < 4 and not complete:
            return None
        if head.startswith(b"<?", i):
            close = head.find(b"?>", i + 2)
        elif head.startswith(b"<!--", i):
            close = head.find(b"-->", i + 4)
        elif head.startswith(b"<!", i):
            raise WorkbookRefused(
                _("The file contains XML declarations (a DTD), which are refused for safety; save it again from Excel.")
            )
        else:
            return i  # the root element, or something the parser will refuse
        if close < 0:
            if complete:
                return i
            return None
        i = close + (2 if head[i + 1 : i + 2] == b"?" else 3)


class _BoundedMember:
    """A zip member read as a stream: its prolog checked first, and never more than the member bound read."""

    def __init__(self, raw, limits: uploads.UnpackLimits):
        self._raw = raw
        self._limits = limits
        self._read = 0
        self._head = b""
        self._checked = False

    def _check_prolog(self):
        while not self._checked:
            chunk = self._raw.read(4096)
            self._head += chunk
            if _prolog_end(self._head, complete=not chunk) is not None:
                self._checked = True
            elif len(self._head) > self._limits.prolog_bytes:
                raise WorkbookRefused(_("The file is not a valid Excel .xlsx workbook; save it again from Excel."))

    def read(self, size: int = -1) -> bytes:
        self._check_prolog()
        if self._head:
            data, self._head = (
                (self._head, b"") if size < 0 or size >= len(self._head) else (self._head[:size], self._head[size:])
            )
        else:
            data = self._raw.read(size)
        self._read += len(data)
        if self._read > self._limits.member_bytes:
            raise _too_large(self._limits)
        return data

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self._raw.close()


def _open_member(archive: zipfile.ZipFile, name: str, limits) -> _BoundedMember:
    return _BoundedMember(archive.open(name), limits)


def _parse_member(archive: zipfile.ZipFile, name: str, limits):
    """A small member (workbook, relationships, styles) parsed whole, within the member bound."""
    with _open_member(archive, name, limits) as stream:
        return ET.fromstring(stream.read())  # noqa: S314


def _first_sheet(archive: zipfile.ZipFile, limits) -> tuple[str, dt.datetime]:
    workbook = _parse_member(archive, "xl/workbook.xml", limits)
    properties = workbook.find(f"{MAIN}workbookPr")
    date1904 = properties is not None and properties.get("date1904") in ("1", "true")
    first = workbook.find(f"{MAIN}sheets/{MAIN}sheet")
    if first is None:
        raise UnsupportedWorkbook("no worksheet")
    rel_id = first.get(f"{DOC_REL}id")
    rels = _parse_member(archive, "xl/_rels/workbook.xml.rels", limits)
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


def _shared_strings(archive: zipfile.ZipFile, limits) -> list[str]:
    try:
        stream = _open_member(archive, "xl/sharedStrings.xml", limits)
    except KeyError:
        return []
    strings: list[str] = []
    chars = 0
    item_tag = f"{MAIN}si"
    with stream:
        for _event, element in ET.iterparse(stream, events=("end",)):  # noqa: S314
            if element.tag != item_tag:
                continue
            text = _text(element)
            element.clear()
            chars += len(text)
            if len(text) > limits.string_chars:
                raise WorkbookRefused(
                    _("A cell holds more than %(chars)d characters.") % {"chars": limits.string_chars}
                )
            if chars > limits.shared_chars or len(strings) >= limits.shared_strings:
                raise WorkbookRefused(
                    _("The workbook holds more than %(count)d different texts or %(chars)d characters of text.")
                    % {"count": limits.shared_strings, "chars": limits.shared_chars}
                )
            strings.append(text)
    return strings


def _date_styles(archive: zipfile.ZipFile, limits) -> frozenset[int]:
    try:
        styles = _parse_member(archive, "xl/styles.xml", limits)
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


def _refuse_cells(limits) -> WorkbookRefused:
    return WorkbookRefused(_("The sheet has more than %(cells)d cells.") % {"cells": limits.cells})


def _rows(sheet, shared: list[str], date_styles: frozenset[int], epoch: dt.datetime, limits):
    """Rows with at least one value. Each cell is read as its element ends and then dropped, so one huge row
    costs no more than its values; the elements between two rows' ends are counted."""
    row_tag, cell_tag, value_tag, inline_tag = f"{MAIN}row", f"{MAIN}c", f"{MAIN}v", f"{MAIN}is"
    expected_row = 0
    rows = cells = pending = 0
    values: list = []
    for _event, element in ET.iterparse(sheet, events=("end",)):  # noqa: S314
        pending += 1
        if pending > MAX_ELEMENTS_PER_ROW:
            raise _refuse_cells(limits)
        tag = element.tag
        if tag == cell_tag:
            ref = element.get("r")
            column = _column_index(ref) if ref else len(values)
            if column < len(values):
                raise UnsupportedWorkbook(f"cells out of order in row {expected_row + 1}")
            if column >= MAX_COLUMNS:
                raise _refuse_cells(limits)
            cells += column + 1 - len(values)
            if cells > limits.cells:
                raise _refuse_cells(limits)
            values.extend([None] * (column - len(values)))
            values.append(_cell_value(element, shared, date_styles, epoch, value_tag, inline_tag))
            element.clear()
        elif tag == row_tag:
            expected_row = int(element.get("r") or expected_row + 1)
            rows += 1
            if rows > limits.rows:
                raise WorkbookRefused(_("The sheet has more than %(rows)d rows.") % {"rows": limits.rows})
            element.clear()
            pending = 0
            if any(value is not None for value in values):
                yield expected_row, values
            values = []


def _cell_value(cell, shared, date_styles, epoch, value_tag, inline_tag):
    kind = cell.get("t", "n")
    raw = cell.findtext(value_tag)
    if kind == "s":
        return shared[int(raw)]
    if kind == "inlineStr":
        inline = cell.find(inline_tag)
        return _text(inline) if inline is not None else ""
    if kind in ("str", "e"):
        return raw or ""
    if kind == "b":
        return raw == "1"
    if kind == "d":
        try:
            return dt.datetime.fromisoformat(raw) if raw else None
        except ValueError:
            return raw  # not a date: the import says so for its column
    if raw is None or raw == "":
        return None
    try:
        number = float(raw) if any(c in raw for c in ".eEnN") else int(raw)
    except ValueError:
        return raw  # digits beyond what int() takes: the import refuses it as a number too large
    if int(cell.get("s", "0")) in date_styles and math.isfinite(number) and 0 <= number <= LAST_SERIAL_DAY + 1:
        # Days as a float: round to the millisecond, as Excel shows times.
        return epoch + dt.timedelta(milliseconds=round(number * 86_400_000))
    return number
