"""Import of existing contracts from CSV or Excel (.xlsx).

The design, in three steps:

1. **Read** the whole file into rows (CSV in UTF-8, UTF-8 with BOM, UTF-16 with
   BOM or GB18030/GBK, as Chinese Excel saves it; or the first sheet of an
   .xlsx). An unreadable file fails with one clear message.
2. **Validate every row** against the file itself (duplicate contract numbers
   and serial numbers) and the database, with every lookup pre-fetched in
   chunks (existing contract numbers, products by serial number, the unit's
   customers by name, terms already covering those products). Each bad row is
   reported with its line number (the CSV line or the Excel row) and reason.
   With any error, nothing is imported unless the uploader asked to import the
   valid rows.
3. **Import** in one transaction, all or nothing: new customers, new products,
   contracts, cover rows and terms, table by table in batches (on PostgreSQL
   one ``INSERT ... SELECT FROM unnest(...)`` per 10,000 rows, elsewhere
   ``bulk_create``). The import record (file, who, when, its own status
   history) is the imported contracts' history: each contract links to it,
   rather than 100,000 "imported" status rows.

Small files run in the request; larger ones in a Celery task. Progress is on
the import row while validating and in the cache while importing (the rows
written inside the import transaction are invisible to the page until commit).
"""

import csv
import datetime as dt
import functools
import io
import logging
import operator
import re
import zipfile
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation

from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import pgettext_lazy

from repairs.models import Customer, Product, phone_validator
from servicedesk import uploads
from servicedesk.bounds import date_in_range, decimal_limits
from servicedesk.exceptions import ApplicationError
from servicedesk.workflow import apply_transition, lock_for_update, record_status_change

from ..models import Contract, ContractImport, ContractProduct, ContractTerm, ContractType, VisitFrequency
from ..xlsx import UnsupportedWorkbook, WorkbookRefused, read_first_sheet
from .common import initial_status, require, term_notice_on
from .contracts import split_serial_numbers

log = logging.getLogger(__name__)

MAX_IMPORT_BYTES = 40 * 1024 * 1024
MAX_IMPORT_ROWS = 200_000
# Files up to this size are checked and imported while the uploader waits; larger ones in the background.
INLINE_IMPORT_BYTES = 256 * 1024
MAX_REPORTED_ERRORS = 1000
LOOKUP_CHUNK = 5000
INSERT_BATCH = 2000
UNNEST_BATCH = 10_000
PROGRESS_EVERY = 5000
# An import still "running" after this long without progress lost its worker.
STALE = dt.timedelta(minutes=10)

# Column → accepted header spellings (English and Chinese); matched case-insensitively.
COLUMNS = {
    "contract_number": ("contract_number", "contract number", "contract no", "合同编号", "合同号"),
    "customer_name": ("customer_name", "customer", "customer name", "客户名称", "客户"),
    "customer_phone": ("customer_phone", "phone", "customer phone", "客户电话", "电话"),
    "customer_email": ("customer_email", "email", "e-mail", "customer email", "客户邮箱", "邮箱"),
    "contract_type": ("contract_type", "type", "contract type", "合同类型"),
    "start_on": ("start_on", "start", "start date", "开始日期", "起始日期"),
    "end_on": ("end_on", "end", "end date", "结束日期", "到期日期"),
    "fee": ("fee", "amount", "费用", "金额", "合同金额"),
    "visit_frequency": ("visit_frequency", "visits", "visit frequency", "保养频率", "巡检频率"),
    "serial_numbers": ("serial_numbers", "serial_number", "serial numbers", "serial", "机号", "序列号", "产品序列号"),
    "product_model": ("product_model", "model", "product model", "型号", "产品型号", "商品型号"),
}
# What a column is called where the file does not name it (a missing column, the column list): each label is
# also an accepted header, in English and in Chinese.
COLUMN_LABELS = {
    "contract_number": pgettext_lazy("contract import column", "Contract number"),
    "customer_name": pgettext_lazy("contract import column", "Customer name"),
    "customer_phone": pgettext_lazy("contract import column", "Customer phone"),
    "customer_email": pgettext_lazy("contract import column", "Customer email"),
    "contract_type": pgettext_lazy("contract import column", "Contract type"),
    "start_on": pgettext_lazy("contract import column", "Start date"),
    "end_on": pgettext_lazy("contract import column", "End date"),
    "fee": pgettext_lazy("contract import column", "Fee"),
    "visit_frequency": pgettext_lazy("contract import column", "Visit frequency"),
    "serial_numbers": pgettext_lazy("contract import column", "Serial numbers"),
    "product_model": pgettext_lazy("contract import column", "Product model"),
}
REQUIRED_COLUMNS = ("contract_number", "customer_name", "start_on", "end_on", "fee", "serial_numbers")
TEMPLATE_HEADER = list(COLUMNS)

FREQUENCY_ALIASES = {
    **{choice.value: choice.value for choice in VisitFrequency},
    "month": VisitFrequency.MONTHLY,
    "每月": VisitFrequency.MONTHLY,
    "月度": VisitFrequency.MONTHLY,
    "quarter": VisitFrequency.QUARTERLY,
    "每季度": VisitFrequency.QUARTERLY,
    "季度": VisitFrequency.QUARTERLY,
    "half-yearly": VisitFrequency.HALF_YEARLY,
    "每半年": VisitFrequency.HALF_YEARLY,
    "半年": VisitFrequency.HALF_YEARLY,
    "year": VisitFrequency.YEARLY,
    "annual": VisitFrequency.YEARLY,
    "每年": VisitFrequency.YEARLY,
    "年度": VisitFrequency.YEARLY,
    "on call": VisitFrequency.ON_CALL,
    "按需": VisitFrequency.ON_CALL,
}
DATE_FORMATS = ("%Y-%m-%d", "%Y/%m/%d", "%Y.%m.%d", "%Y%m%d", "%Y年%m月%d日")
CENT = Decimal("0.01")
# A value quoted back in an error message is cut to this many characters.
QUOTED_CHARS = 40
AMOUNT_CLEAN = re.compile(r"[,\s¥￥]|元$|RMB|CNY", re.IGNORECASE)


class FileUnreadable(ApplicationError):
    """The file as a whole cannot be read: nothing to report row by row."""


@dataclass(slots=True)
class RowError:
    line: int
    column: str
    message: str
    # The column as the file's own header row names it (or its label where the file has no such column).
    header: str = ""

    def as_dict(self) -> dict:
        return {"line": self.line, "column": self.column, "header": self.header, "message": self.message}


@dataclass(slots=True)
class ImportRow:
    line: int
    number: str
    customer_name: str
    customer_phone: str
    customer_email: str
    contract_type: ContractType | None
    start_on: dt.date | None
    end_on: dt.date | None
    fee: Decimal | None
    visit_frequency: str
    serials: list[str]
    product_model: str
    errors: list[RowError] = field(default_factory=list)

    def fail(self, column: str, message: str) -> None:
        self.errors.append(RowError(self.line, column, message))


@dataclass
class ValidationResult:
    total: int
    valid: list[ImportRow]
    errors: list[RowError]
    # The unit's existing customers by name, and products by serial, as looked up.
    customer_ids: dict[str, int]
    product_ids: dict[str, int]
    # Customers the file introduces: name → (phone, e-mail).
    new_customers: dict[str, tuple[str, str]] = field(default_factory=dict)


# --- Reading --------------------------------------------------------------------------------------------


def read_table(*, content: bytes, filename: str) -> tuple[list[str], list[tuple[int, list]]]:
    """The header and the data rows (line number, cells) of a CSV or .xlsx file. Wholly blank rows are skipped."""
    if not content:
        raise FileUnreadable(_("The file is empty."))
    if len(content) > MAX_IMPORT_BYTES:
        raise FileUnreadable(
            _("The file is larger than %(size)d MB; split it into smaller files.")
            % {"size": MAX_IMPORT_BYTES // (1024 * 1024)}
        )
    name = filename.lower()
    if content[:4] == b"PK\x03\x04" or name.endswith(".xlsx"):
        rows = _read_xlsx(content)
    elif content[:8] == b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" or name.endswith(".xls"):
        raise FileUnreadable(_("Old Excel files (.xls) cannot be read: save the sheet as .xlsx or CSV."))
    else:
        rows = _read_csv(content)
    header_line, header = None, None
    data = []
    for line, cells in rows:
        if not any(_cell_text(c) for c in cells):
            continue
        if header is None:
            header_line, header = line, [_cell_text(c) for c in cells]
            continue
        data.append((line, list(cells)))
        if len(data) > MAX_IMPORT_ROWS:
            raise FileUnreadable(
                _("The file has more than %(rows)d rows; split it into smaller files.") % {"rows": MAX_IMPORT_ROWS}
            )
    if header is None:
        raise FileUnreadable(_("The file is empty."))
    if not data:
        raise FileUnreadable(_("The file has a header row (line %(line)d) but no contracts.") % {"line": header_line})
    return header, data


def _decode(content: bytes) -> str:
    if content.startswith(b"\xef\xbb\xbf"):
        encodings = ("utf-8-sig",)
    elif content.startswith((b"\xff\xfe", b"\xfe\xff")):
        encodings = ("utf-16",)
    else:
        # Chinese Excel saves CSV in GBK; GB18030 is its superset.
        encodings = ("utf-8", "gb18030")
    for encoding in encodings:
        try:
            text = content.decode(encoding)
        except UnicodeDecodeError:
            continue
        if "\x00" in text:
            break
        return text
    raise FileUnreadable(
        _(
            "The file is not a CSV text file in UTF-8 or GBK (GB18030), nor an Excel .xlsx file. "
            "Save it again as CSV UTF-8."
        )
    )


def _lines(text: str):
    """The lines of ``text`` with their ends, as the csv module reads them, without a copy of the whole text
    (a StringIO holds four bytes per character)."""
    start, size = 0, len(text)
    while start < size:
        end = text.find("\n", start)
        end = size if end < 0 else end + 1
        carriage = text.find("\r", start, end - 1)
        if carriage >= 0 and text[carriage + 1 : carriage + 2] != "\n":
            end = carriage + 1  # an old Mac line end (a lone CR)
        yield text[start:end]
        start = end


def _bounded_lines(text: str):
    """The file's lines for the CSV reader, refusing a line longer than CSV_LINE_CHARS or more lines than rows."""
    limit, rows = uploads.CSV_LINE_CHARS, uploads.XLSX_LIMITS.rows
    for number, line in enumerate(_lines(text), start=1):
        if len(line) > limit:
            raise FileUnreadable(
                _("Line %(line)d is longer than %(chars)d characters.") % {"line": number, "chars": limit}
            )
        if number > rows:
            raise FileUnreadable(_("The file has more than %(rows)d lines.") % {"rows": rows})
        yield line


def _read_csv(content: bytes):
    text = _decode(content)
    first_line = text[: uploads.CSV_LINE_CHARS].split("\n", 1)[0]
    delimiter = max(",;\t", key=first_line.count) if first_line else ","
    reader = csv.reader(_bounded_lines(text), delimiter=delimiter, strict=True)
    start = 1
    try:
        for cells in reader:
            yield start, cells
            start = reader.line_num + 1
    except csv.Error as exc:
        if "field limit" in str(exc):
            raise FileUnreadable(
                _("Line %(line)d: a cell is longer than %(chars)d characters, or a quote is not closed.")
                % {"line": reader.line_num, "chars": csv.field_size_limit()}
            ) from None
        raise FileUnreadable(
            _("Line %(line)d cannot be read as CSV: %(error)s") % {"line": reader.line_num, "error": exc}
        ) from None


def _read_xlsx(content: bytes):
    try:
        # The header row and MAX_IMPORT_ROWS contracts: a longer sheet stops as soon as it is seen to be longer.
        return read_first_sheet(content, max_rows=MAX_IMPORT_ROWS + 1)
    except WorkbookRefused as exc:
        raise FileUnreadable(exc.message) from None
    except UnsupportedWorkbook:
        log.info("xlsx not read by the lean reader; reading it with openpyxl", exc_info=True)
        return list(_read_xlsx_openpyxl(content))


def _not_a_workbook(error) -> FileUnreadable:
    return FileUnreadable(_("The file is not a valid Excel .xlsx workbook (%(error)s).") % {"error": error})


def _read_xlsx_openpyxl(content: bytes):
    from openpyxl import load_workbook

    limits = uploads.XLSX_LIMITS
    try:
        # The lean reader checked the archive (sizes, ratio, DTDs) before it gave up.
        with zipfile.ZipFile(io.BytesIO(content)) as archive:
            unpacked = sum(member.file_size for member in archive.infolist())
    except zipfile.BadZipFile as exc:
        raise _not_a_workbook(exc) from None
    if unpacked > limits.fallback_bytes:
        raise FileUnreadable(
            _("This Excel file cannot be read in this size (%(size)d MB unpacked); save it as CSV UTF-8.")
            % {"size": unpacked // uploads.MB}
        )
    try:
        workbook = load_workbook(io.BytesIO(content), read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, OSError, ValueError, TypeError) as exc:
        raise _not_a_workbook(exc) from None
    cells = 0
    try:
        sheet = workbook.worksheets[0]
        for number, values in enumerate(sheet.iter_rows(values_only=True), start=1):
            cells += len(values)
            if number > limits.rows or cells > limits.cells:
                raise FileUnreadable(_("The sheet has more than %(cells)d cells.") % {"cells": limits.cells})
            yield number, values
    finally:
        workbook.close()


def _cell_text(value) -> str:
    if type(value) is str:  # every CSV cell: the fast path
        return value.strip()
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, dt.datetime):
        return value.date().isoformat()
    return str(value).strip()


# --- Validating -----------------------------------------------------------------------------------------


def _map_header(header: list[str]) -> dict[str, int]:
    spelling = {alias.lower(): column for column, aliases in COLUMNS.items() for alias in aliases}
    positions: dict[str, int] = {}
    for index, title in enumerate(header):
        column = spelling.get(title.strip().lower())
        if column and column not in positions:
            positions[column] = index
    missing = [c for c in REQUIRED_COLUMNS if c not in positions]
    if missing:
        raise FileUnreadable(
            _("The header row lacks the column(s) %(columns)s. Expected columns: %(expected)s.")
            % {
                "columns": ", ".join(str(COLUMN_LABELS[c]) for c in missing),
                "expected": ", ".join(str(COLUMN_LABELS[c]) for c in TEMPLATE_HEADER),
            }
        )
    return positions


def _parse_date(value) -> dt.date | None:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    text = _cell_text(value)
    try:
        return dt.date.fromisoformat(text)  # the usual case, and much faster than strptime
    except ValueError:
        pass
    for fmt in DATE_FORMATS:
        try:
            return dt.datetime.strptime(text, fmt).date()
        except ValueError:
            continue
    return None


def _quoted(value) -> str:
    text = _cell_text(value)
    return text if len(text) <= QUOTED_CHARS else text[: QUOTED_CHARS - 1] + "…"


def _parse_fee(value) -> tuple[Decimal | None, str]:
    """(the fee, "") or (None, why not): within the column's digits and places (``decimal_limits``)."""
    limits = _fee_limits()
    not_amount = _("“%(value)s” is not an amount in yuan.") % {"value": _quoted(value)}
    if isinstance(value, bool):
        return None, not_amount
    if isinstance(value, int | Decimal):
        amount = Decimal(value)
    elif isinstance(value, float):
        amount = Decimal(repr(value))  # Excel keeps numbers as floats; their shortest repr is what the user typed
    else:
        text = _cell_text(value)
        try:
            amount = Decimal(text)
        except InvalidOperation:
            try:
                amount = Decimal(AMOUNT_CLEAN.sub("", text))  # "¥1,200", "1200元"
            except InvalidOperation:
                return None, not_amount
    # NaN, Infinity: compared with nothing (a signalling NaN would raise on comparison).
    if not amount.is_finite():
        return None, not_amount
    if amount < 0:
        return None, _("The fee cannot be negative.")
    if amount > limits["max_value"]:
        return None, _("The fee is larger than %(max)s.") % {"max": f"{limits['max_value']:,}"}
    # Within the column's magnitude, quantizing cannot overflow the decimal context.
    cents = amount.quantize(CENT)
    if cents != amount:
        return None, _("The fee has more than %(places)d decimal places.") % {"places": limits["decimal_places"]}
    return cents, ""


@functools.cache
def _fee_limits() -> dict:
    return decimal_limits(ContractTerm._meta.get_field("fee"))


@functools.cache
def _max_lengths() -> dict[str, int]:
    """Text columns: the length of the model field each fills."""
    return {
        "contract_number": Contract._meta.get_field("number").max_length,
        "customer_name": Customer._meta.get_field("name").max_length,
        "customer_phone": Customer._meta.get_field("phone").max_length,
        "customer_email": Customer._meta.get_field("email").max_length,
        "serial_numbers": Product._meta.get_field("serial_number").max_length,
        "product_model": Product._meta.get_field("model").max_length,
    }


def _too_long(column: str) -> str:
    return _("%(column)s: longer than %(chars)d characters.") % {
        "column": COLUMN_LABELS[column],
        "chars": _max_lengths()[column],
    }


@functools.cache
def _phone_pattern():
    return re.compile(phone_validator.regex.pattern)


def _parse_row(line: int, values: tuple, types: dict[str, ContractType], default_type):
    """One row's cells, in the order of ``COLUMNS``, checked on their own."""
    number, name, phone, email, type_cell, start_cell, end_cell, fee_cell, frequency_cell, serials, model = values
    fee, fee_error = _parse_fee(fee_cell)
    row = ImportRow(
        line=line,
        number=_cell_text(number),
        customer_name=_cell_text(name),
        customer_phone=_cell_text(phone),
        customer_email=_cell_text(email),
        contract_type=None,
        start_on=_parse_date(start_cell),
        end_on=_parse_date(end_cell),
        fee=fee,
        visit_frequency="",
        serials=split_serial_numbers(_cell_text(serials)),
        product_model=_cell_text(model),
    )
    cells = {"start_on": start_cell, "end_on": end_cell}
    lengths = _max_lengths()
    if not row.number:
        row.fail("contract_number", _("The contract number is missing."))
    elif len(row.number) > lengths["contract_number"]:
        row.fail("contract_number", _too_long("contract_number"))
    if not row.customer_name:
        row.fail("customer_name", _("The customer name is missing."))
    elif len(row.customer_name) > lengths["customer_name"]:
        row.fail("customer_name", _too_long("customer_name"))
    if row.customer_phone:
        if len(row.customer_phone) > lengths["customer_phone"]:
            row.fail("customer_phone", _too_long("customer_phone"))
        elif not _phone_pattern().search(row.customer_phone):
            row.fail("customer_phone", _("“%(value)s” is not a phone number.") % {"value": _quoted(phone)})
    if row.customer_email:
        if len(row.customer_email) > lengths["customer_email"]:
            row.fail("customer_email", _too_long("customer_email"))
        else:
            try:
                validate_email(row.customer_email)
            except ValidationError:
                row.fail("customer_email", _("“%(value)s” is not an e-mail address.") % {"value": _quoted(email)})
    type_text = _cell_text(type_cell)
    row.contract_type = types.get(type_text.lower()) if type_text else default_type
    if row.contract_type is None:
        row.fail("contract_type", _("Unknown contract type “%(value)s”.") % {"value": _quoted(type_cell)})
    for column in ("start_on", "end_on"):
        day = getattr(row, column)
        if day is None:
            raw = _cell_text(cells[column])
            row.fail(
                column,
                _("“%(value)s” is not a date (use YYYY-MM-DD).") % {"value": _quoted(raw)}
                if raw
                else _("The date is missing."),
            )
            continue
        try:
            date_in_range(day)
        except ValidationError as exc:
            setattr(row, column, None)
            row.fail(column, exc.messages[0])
    if row.start_on and row.end_on and row.end_on < row.start_on:
        row.fail(
            "end_on",
            _("The contract ends (%(end)s) before it starts (%(start)s).")
            % {
                "end": row.end_on,
                "start": row.start_on,
            },
        )
    if fee_error:
        row.fail("fee", fee_error)
    frequency_text = _cell_text(frequency_cell)
    if frequency_text:
        row.visit_frequency = FREQUENCY_ALIASES.get(frequency_text.lower(), "")
        if not row.visit_frequency:
            row.fail(
                "visit_frequency",
                _("Unknown visit frequency “%(value)s” (use %(choices)s).")
                % {"value": _quoted(frequency_text), "choices": ", ".join(VisitFrequency.values)},
            )
    else:
        row.visit_frequency = VisitFrequency.QUARTERLY
    if not row.serials:
        row.fail("serial_numbers", _("At least one serial number is needed."))
    elif any(len(serial) > lengths["serial_numbers"] for serial in row.serials):
        row.fail("serial_numbers", _too_long("serial_numbers"))
    if len(row.product_model) > lengths["product_model"]:
        row.fail("product_model", _too_long("product_model"))
    return row


def _not_for_this_unit() -> str:
    return _("This row cannot be imported for this unit.")


def _chunks(items: list, size: int = LOOKUP_CHUNK):
    for start in range(0, len(items), size):
        yield items[start : start + size]


def validate_rows(*, unit_id: int, header: list[str], data: list[tuple[int, list]], progress=None) -> ValidationResult:
    """Check every row; return the valid ones and every error with its line number."""
    positions = _map_header(header)
    types = {}
    for contract_type in ContractType.objects.filter(is_active=True):
        types[contract_type.code.lower()] = contract_type
        types[contract_type.name.lower()] = contract_type
    default_type = ContractType.objects.filter(is_active=True).order_by("pk").first()

    # Each row's cells in the order of COLUMNS; a column the file lacks reads the None added at the end.
    width = len(header)
    pick = operator.itemgetter(*[positions.get(column, width) for column in COLUMNS])
    rows = []
    for index, (line, cells) in enumerate(data, start=1):
        cells = [*cells[:width], *([None] * (width - len(cells))), None]
        rows.append(_parse_row(line, pick(cells), types, default_type))
        if progress and index % PROGRESS_EVERY == 0:
            progress(index // 2)

    # Inside the file: a contract number once; a serial number in one contract only.
    first_number_line: dict[str, int] = {}
    first_serial_line: dict[str, int] = {}
    for row in rows:
        if row.number:
            seen = first_number_line.setdefault(row.number, row.line)
            if seen != row.line:
                row.fail(
                    "contract_number",
                    _("Contract number %(number)s is also on line %(line)d.")
                    % {
                        "number": row.number,
                        "line": seen,
                    },
                )
        for serial in row.serials:
            seen = first_serial_line.setdefault(serial, row.line)
            if seen != row.line:
                row.fail(
                    "serial_numbers",
                    _("Serial number %(serial)s is also on line %(line)d.")
                    % {
                        "serial": serial,
                        "line": seen,
                    },
                )

    # Against the database, every lookup in chunks.
    numbers = list(first_number_line)
    taken: dict[str, int] = {}  # contract number → its unit
    for chunk in _chunks(numbers):
        taken.update(Contract.objects.filter(number__in=chunk).values_list("number", "unit_id"))

    serials = list(first_serial_line)
    products: dict[str, tuple[int, int, int]] = {}
    for chunk in _chunks(serials):
        for serial, pk, customer_id, product_unit_id in Product.objects.filter(serial_number__in=chunk).values_list(
            "serial_number", "pk", "customer_id", "customer__unit_id"
        ):
            products[serial] = (pk, customer_id, product_unit_id)

    covered: dict[int, list[tuple[dt.date, dt.date, str, int]]] = {}
    product_pks = [value[0] for value in products.values() if value[2] == unit_id]
    for chunk in _chunks(product_pks):
        for product_id, start_on, end_on, number, contract_unit_id in (
            ContractTerm.objects.filter(contract__covered_products__product_id__in=chunk)
            .values_list(
                "contract__covered_products__product_id",
                "start_on",
                "end_on",
                "contract__number",
                "contract__unit_id",
            )
            .iterator(chunk_size=LOOKUP_CHUNK)
        ):
            covered.setdefault(product_id, []).append((start_on, end_on, number, contract_unit_id))

    names = list({row.customer_name for row in rows if row.customer_name})
    customers: dict[str, list[tuple[int, str]]] = {}
    for chunk in _chunks(names):
        for pk, name, phone in Customer.objects.filter(unit_id=unit_id, name__in=chunk).values_list(
            "pk", "name", "phone"
        ):
            customers.setdefault(name, []).append((pk, phone))

    # A new customer's phone and e-mail come from the first row that gives a phone.
    new_customers: dict[str, tuple[str, str]] = {}
    for row in rows:
        if row.customer_name and row.customer_name not in customers and row.customer_phone:
            phone_ok = not any(error.column == "customer_phone" for error in row.errors)
            email_ok = not any(error.column == "customer_email" for error in row.errors)
            if phone_ok:
                email = row.customer_email if email_ok else ""
                new_customers.setdefault(row.customer_name, (row.customer_phone, email))

    customer_ids: dict[str, int] = {}
    for row in rows:
        if row.number in taken:
            if taken[row.number] == unit_id:
                row.fail("contract_number", _("Contract %(number)s already exists.") % {"number": row.number})
            else:
                # Another unit's contract: not named, not even as existing elsewhere.
                row.fail("contract_number", _not_for_this_unit())
        matches = customers.get(row.customer_name, [])
        customer_id = None
        if len(matches) == 1:
            customer_id = matches[0][0]
        elif len(matches) > 1:
            by_phone = [pk for pk, phone in matches if row.customer_phone and phone == row.customer_phone]
            if len(by_phone) == 1:
                customer_id = by_phone[0]
            else:
                row.fail(
                    "customer_name",
                    _("Several customers are called “%(name)s”; give the phone number of the right one.")
                    % {"name": row.customer_name},
                )
        elif row.customer_name and row.customer_name not in new_customers:
            row.fail(
                "customer_phone",
                _("“%(name)s” is a new customer: the phone number is needed.") % {"name": row.customer_name},
            )
        if customer_id:
            customer_ids[row.customer_name] = customer_id
        for serial in row.serials:
            known = products.get(serial)
            if known is None:
                if not row.product_model:
                    row.fail(
                        "product_model",
                        _("Serial number %(serial)s is not registered: give the product model to add it.")
                        % {"serial": serial},
                    )
                continue
            product_id, owner_id, owner_unit_id = known
            if owner_unit_id != unit_id:
                row.fail("serial_numbers", _not_for_this_unit())
            elif customer_id is None or owner_id != customer_id:
                row.fail(
                    "serial_numbers", _("Serial number %(serial)s belongs to another customer.") % {"serial": serial}
                )
            elif row.start_on and row.end_on:
                for start_on, end_on, number, contract_unit_id in covered.get(product_id, ()):
                    if start_on <= row.end_on and end_on >= row.start_on:
                        if contract_unit_id != unit_id:
                            row.fail("serial_numbers", _not_for_this_unit())
                            break
                        row.fail(
                            "serial_numbers",
                            _(
                                "Serial number %(serial)s is already covered by contract %(number)s "
                                "(%(start)s to %(end)s)."
                            )
                            % {"serial": serial, "number": number, "start": start_on, "end": end_on},
                        )
                        break
    if progress:
        progress(len(rows))
    errors = [error for row in rows for error in row.errors]
    # Each error names its column as the file's header row does; a column the file lacks by its label.
    titles = {column: header[index].strip() for column, index in positions.items()}
    for error in errors:
        error.header = titles.get(error.column) or str(COLUMN_LABELS[error.column])
    valid = [row for row in rows if not row.errors]
    return ValidationResult(
        total=len(rows),
        valid=valid,
        errors=errors,
        customer_ids=customer_ids,
        product_ids={serial: value[0] for serial, value in products.items()},
        new_customers=new_customers,
    )


# --- Importing ------------------------------------------------------------------------------------------


def import_rows(*, unit_id: int, result: ValidationResult, user, batch=None, now=None, progress=None) -> int:
    """Write the valid rows in one transaction, table by table in batches. Returns the number of contracts imported."""
    now = now or timezone.now()
    today = timezone.localdate(now)
    rows = result.valid
    steps = 5
    by_id = user.pk if user is not None and user.is_authenticated else None
    with transaction.atomic():
        new_customers = {}
        for row in rows:
            name = row.customer_name
            if name not in result.customer_ids and name not in new_customers:
                phone, email = result.new_customers[name]
                new_customers[name] = (unit_id, name, phone, email, "", now)
        customer_ids = {
            **result.customer_ids,
            **_insert(
                Customer,
                ["unit_id", "name", "phone", "email", "address", "created_at"],
                list(new_customers.values()),
                key="name",
            ),
        }
        _progress(progress, 1, steps, len(rows))

        new_products = [
            (customer_ids[row.customer_name], row.product_model, serial)
            for row in rows
            for serial in row.serials
            if serial not in result.product_ids
        ]
        product_ids = {
            **result.product_ids,
            **_insert(Product, ["customer_id", "model", "serial_number"], new_products, key="serial_number"),
        }
        _progress(progress, 2, steps, len(rows))

        contract_ids = _insert(
            Contract,
            ["number", "unit_id", "customer_id", "contract_type_id", "note", "import_batch_id", "created_by_id",
             "created_at"],
            [
                (row.number, unit_id, customer_ids[row.customer_name], row.contract_type.pk, "",
                 batch.pk if batch else None, None if batch else by_id, now)
                for row in rows
            ],
            key="number",
        )  # fmt: skip
        _progress(progress, 3, steps, len(rows))

        _insert(
            ContractProduct,
            ["contract_id", "product_id"],
            [(contract_ids[row.number], product_ids[serial]) for row in rows for serial in row.serials],
        )
        _progress(progress, 4, steps, len(rows))

        statuses = {row.number: initial_status(end_on=row.end_on, today=today) for row in rows}
        _insert(
            ContractTerm,
            ["contract_id", "sequence", "start_on", "end_on", "fee", "visit_frequency", "status", "notice_on",
             "created_by_id", "created_at", "updated_at", "version"],
            [
                (contract_ids[row.number], 1, row.start_on, row.end_on, row.fee, row.visit_frequency,
                 statuses[row.number], term_notice_on(end_on=row.end_on, contract_type=row.contract_type),
                 None if batch else by_id, now, now, 1)
                for row in rows
            ],
        )  # fmt: skip
        _progress(progress, 5, steps, len(rows))

    return len(rows)


def _insert(model, columns: list[str], rows: list[tuple], *, key: str | None = None) -> dict:
    """Insert ``rows`` (tuples of ``columns``, by attribute name); with ``key``, return {key value: new id}.

    On PostgreSQL one ``INSERT ... SELECT FROM unnest(arrays)`` per batch of
    rows, without building a model instance per row (the ORM's ``bulk_create``
    spends most of a 100,000-row import doing that); elsewhere ``bulk_create``.
    """
    if not rows:
        return {}
    if connection.vendor == "postgresql":
        return _insert_unnest(model, columns, rows, key=key)
    objects = [model(**dict(zip(columns, values, strict=True))) for values in rows]
    model.objects.bulk_create(objects, batch_size=INSERT_BATCH)
    return {getattr(obj, key): obj.pk for obj in objects} if key else {}


def _insert_unnest(model, columns: list[str], rows: list[tuple], *, key: str | None) -> dict:
    quote = connection.ops.quote_name
    fields = {field.attname: field for field in model._meta.concrete_fields}
    given = [fields[name] for name in columns]
    # Columns the rows leave out get their field's default (a field added later with a default keeps working).
    constants = [
        field
        for name, field in fields.items()
        if name not in columns and not field.primary_key and (field.has_default() or not field.null)
    ]
    constant_values = [field.get_db_prep_save(field.get_default(), connection) for field in constants]
    target = ", ".join(quote(field.column) for field in [*given, *constants])
    arrays = ", ".join(f"%s::{field.db_type(connection)}[]" for field in given)
    extra = "".join(", %s" for _field in constants)
    sql = f"INSERT INTO {quote(model._meta.db_table)} ({target}) SELECT u.*{extra} FROM unnest({arrays}) AS u"  # noqa: S608
    if key:
        sql += f" RETURNING {quote(model._meta.pk.column)}, {quote(fields[key].column)}"
    ids = {}
    with connection.cursor() as cursor:
        for start in range(0, len(rows), UNNEST_BATCH):
            chunk = rows[start : start + UNNEST_BATCH]
            cursor.execute(sql, [list(column) for column in zip(*chunk, strict=True)] + constant_values)
            if key:
                ids.update((value, pk) for pk, value in cursor.fetchall())
    return ids


def _progress(progress, step: int, steps: int, total: int) -> None:
    if progress:
        progress(total * step // steps)


# --- The import record: a small workflow --------------------------------------------------------------


def progress_key(import_id: int) -> str:
    return f"contracts:import:{import_id}:progress"


@transaction.atomic
def contract_import_upload(
    *, user, unit, filename: str, content: bytes, import_valid_rows: bool = False
) -> ContractImport:
    require(user, "contracts.manage_contracts", unit_id=unit.pk)
    if not content:
        raise ApplicationError(_("The file is empty."), field="file")
    if len(content) > MAX_IMPORT_BYTES:
        raise ApplicationError(
            _("The file is larger than %(size)d MB; split it into smaller files.")
            % {"size": MAX_IMPORT_BYTES // (1024 * 1024)},
            field="file",
        )
    now = timezone.now()
    batch = ContractImport.objects.create(
        unit=unit,
        uploaded_by=user,
        filename=filename[:255],
        content=content,
        import_valid_rows=import_valid_rows,
        created_at=now,
        updated_at=now,
    )
    record_status_change(instance=batch, from_status="", to_status=batch.status, by=user, at=now)
    return batch


def _without_content():
    # The file (up to MAX_IMPORT_BYTES) is read once, by the run, not with every status change.
    return ContractImport.objects.defer("content")


def _move(import_id: int, to_status: str, *, by, note: str = "", **values) -> ContractImport:
    with transaction.atomic():
        batch = lock_for_update(_without_content(), pk=import_id)
        for name, value in values.items():
            setattr(batch, name, value)
        apply_transition(instance=batch, to_status=to_status, by=by, note=note, fields=list(values))
    return batch


def contract_import_run(*, import_id: int) -> ContractImport:
    """Check every row, then import all of them, or the valid ones when asked; report each bad row.

    Whatever happens, the import ends imported, rejected or failed, never left "checking rows": an
    unexpected error fails it with a general message (the error itself goes to the log, not to the page).
    """
    try:
        return _contract_import_run(import_id=import_id)
    except Exception:
        log.exception("contract import %s stopped on an unexpected error", import_id)
        return _fail_after_unexpected_error(import_id)


def _fail_after_unexpected_error(import_id: int) -> ContractImport:
    with transaction.atomic():
        batch = lock_for_update(_without_content().select_related("uploaded_by"), pk=import_id)
        if batch.is_running:
            batch.message = _(
                "The import stopped on an unexpected error; nothing was imported. "
                "The error was recorded for the administrator; upload the file again or ask them."
            )
            batch.finished_at = timezone.now()
            apply_transition(
                instance=batch,
                to_status=ContractImport.Status.FAILED,
                by=batch.uploaded_by,
                fields=["message", "finished_at"],
            )
    return batch


def import_is_stuck(batch: ContractImport, *, now=None) -> bool:
    """Checking or importing, and no progress for STALE: its worker stopped (the import never committed)."""
    now = now or timezone.now()
    return batch.status in (ContractImport.Status.VALIDATING, ContractImport.Status.IMPORTING) and (
        batch.updated_at < now - STALE
    )


@transaction.atomic
def contract_import_restart(*, user, import_id: int, now=None) -> ContractImport:
    """Start again an import that waits (the worker could not be reached) or is stuck (its worker stopped)."""
    batch = lock_for_update(_without_content(), pk=import_id)
    require(user, "contracts.manage_contracts", unit_id=batch.unit_id)
    if batch.status == ContractImport.Status.QUEUED:
        return batch
    if not import_is_stuck(batch, now=now):
        raise ApplicationError(_("This import is not stuck: it is still running or already finished."))
    apply_transition(
        instance=batch, to_status=ContractImport.Status.QUEUED, by=user, note=_("Restarted after the worker stopped.")
    )
    return batch


def _contract_import_run(*, import_id: int) -> ContractImport:
    batch = _without_content().select_related("uploaded_by").get(pk=import_id)
    user = batch.uploaded_by
    if import_is_stuck(batch):
        # The worker stopped half-way (the task is delivered again, acks_late): the import
        # transaction never committed, so start again from the top.
        batch = _move(import_id, ContractImport.Status.QUEUED, by=user, note=_("Restarted after the worker stopped."))
    with transaction.atomic():
        batch = lock_for_update(_without_content(), pk=import_id)
        if batch.status != ContractImport.Status.QUEUED:
            # A task delivered twice or a page reloaded: only a waiting import starts, once.
            return batch
        batch.rows_checked = 0
        batch.message = ""
        apply_transition(
            instance=batch, to_status=ContractImport.Status.VALIDATING, by=user, fields=["rows_checked", "message"]
        )

    def validation_progress(done):
        ContractImport.objects.filter(pk=import_id).update(rows_checked=done, updated_at=timezone.now())

    try:
        content = ContractImport.objects.filter(pk=import_id).values_list("content", flat=True).get()
        header, data = read_table(content=bytes(content), filename=batch.filename)
        del content
        ContractImport.objects.filter(pk=import_id).update(rows_total=len(data))
        result = validate_rows(unit_id=batch.unit_id, header=header, data=data, progress=validation_progress)
    except FileUnreadable as exc:
        return _move(import_id, ContractImport.Status.FAILED, by=user, message=exc.message, finished_at=timezone.now())
    counts = {
        "rows_total": result.total,
        "rows_checked": result.total,
        "rows_valid": len(result.valid),
        "error_count": len(result.errors),
        "errors": [error.as_dict() for error in result.errors[:MAX_REPORTED_ERRORS]],
    }
    if not result.valid or (result.errors and not batch.import_valid_rows):
        return _move(
            import_id,
            ContractImport.Status.REJECTED,
            by=user,
            message=_("%(bad)d of %(total)d rows have errors; nothing was imported.")
            % {"bad": result.total - len(result.valid), "total": result.total},
            **counts,
        )
    batch = _move(import_id, ContractImport.Status.IMPORTING, by=user, **counts)
    key = progress_key(import_id)

    def import_progress(done):
        try:
            cache.set(key, done, timeout=3600)
        except Exception:  # progress is a nicety; a cache outage must not stop the import
            log.warning("import progress not stored", exc_info=True)

    try:
        imported = import_rows(unit_id=batch.unit_id, result=result, user=user, batch=batch, progress=import_progress)
    except IntegrityError as exc:
        # Someone entered one of these contracts or serial numbers while the file was being checked.
        log.warning("contract import %s rolled back: %s", import_id, exc)
        return _move(
            import_id,
            ContractImport.Status.FAILED,
            by=user,
            message=_(
                "Nothing was imported: a contract or serial number in the file was entered meanwhile. "
                "Upload the file again."
            ),
            finished_at=timezone.now(),
        )
    finally:
        cache.delete(key)
    skipped = result.total - imported
    message = _("%(count)d contracts imported.") % {"count": imported}
    if skipped:
        message = _("%(count)d contracts imported; %(skipped)d rows with errors were left out.") % {
            "count": imported,
            "skipped": skipped,
        }
    return _move(
        import_id,
        ContractImport.Status.IMPORTED,
        by=user,
        message=message,
        rows_imported=imported,
        content=b"",
        finished_at=timezone.now(),
    )


@transaction.atomic
def contract_import_accept_valid_rows(*, user, import_id: int) -> ContractImport:
    """After seeing the errors: import the valid rows after all (they are checked again)."""
    batch = lock_for_update(_without_content(), pk=import_id)
    require(user, "contracts.manage_contracts", unit_id=batch.unit_id)
    if batch.status != ContractImport.Status.REJECTED or not batch.rows_valid:
        raise ApplicationError(_("This file has no valid rows waiting to be imported."))
    batch.import_valid_rows = True
    apply_transition(
        instance=batch,
        to_status=ContractImport.Status.QUEUED,
        by=user,
        note=_("Import the valid rows."),
        fields=["import_valid_rows"],
    )
    return batch


def import_error_rows(batch: ContractImport) -> list[dict]:
    """The reported errors for the page: each column as the file's header names it (older reports: its label)."""
    return [
        {
            "line": error.get("line"),
            "column": error.get("header") or str(COLUMN_LABELS.get(error.get("column"), error.get("column", ""))),
            "message": error.get("message", ""),
        }
        for error in batch.errors
    ]


def import_progress_now(batch: ContractImport) -> tuple[int, int]:
    """(done, total) for the progress bar: rows checked, then rows imported (from the cache while importing)."""
    total = batch.rows_total or 0
    if batch.status == ContractImport.Status.IMPORTING:
        try:
            done = cache.get(progress_key(batch.pk)) or 0
        except Exception:
            done = 0
        return done, batch.rows_valid or total
    if batch.status == ContractImport.Status.IMPORTED:
        return batch.rows_imported, batch.rows_imported
    return batch.rows_checked, total


def template_csv() -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow([str(COLUMN_LABELS[column]) for column in TEMPLATE_HEADER])  # headers in the reader's language
    writer.writerow(
        [
            "MC-2025-0001",
            "上海精密机械有限公司",
            "021-5555-0101",
            "service@example.com",
            "standard",
            "2025-04-01",
            "2026-03-31",
            "12000.00",
            "quarterly",
            "SN20260001;SN20260002",
            "SX-100",
        ]
    )
    return buffer.getvalue()
