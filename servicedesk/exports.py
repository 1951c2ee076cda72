"""One export mechanism for every list page: CSV (streamed) and Excel (.xlsx, in the request or in the worker).

A list page declares its export once, as an ``ExportSpec``: the columns (a header label in the user's
language, how to get the value from a row, what kind of value it is) and a ``rows(user, params)`` function
that parses the page's own query string with the page's own form and calls the page's own scoped selector,
so a file holds exactly what the page shows, with its filters, and never another unit's rows.

Apps register their specs in ``AppConfig.ready`` (``register``); the core never imports an app. One URL
serves them all (``servicedesk:export``, ``/exports/<page>.<fmt>``); a page links to it through the
``servicedesk/_export_links.html`` include. Pages whose export URLs predate this module call
``export_response`` from their own view.

Every cell is made safe for a spreadsheet: a text that starts with ``= + - @``, a tab or a carriage return
would run as a formula, so it gets a leading apostrophe. Codes are shown as their labels, Decimal stays a
number, aware datetimes are written in local time (``TIME_ZONE``, Asia/Shanghai).

Large files: the CSV is a ``StreamingHttpResponse`` over ``QuerySet.iterator(chunk_size=...)`` (a server-side
cursor on PostgreSQL), so memory stays flat and the first bytes leave at once. An Excel file of more than
``XLSX_INLINE_ROWS`` rows is written by the worker (``servicedesk.tasks.run_export_job``, openpyxl's
write-only mode) into an ``ExportJob``; the user watches its progress and downloads it when done.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.db.models import QuerySet
from django.http import Http404, HttpResponse, QueryDict, StreamingHttpResponse
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from .models import NamedInLanguages

# Above this many rows an Excel export runs in the worker (one place; the CSV always streams).
XLSX_INLINE_ROWS = 5_000
# Rows fetched per round trip while streaming or writing a file.
CHUNK_SIZE = 2_000
# Rows written between two progress updates of an export job.
PROGRESS_EVERY = 1_000

XLSX_CONTENT_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
FORMATS = ("csv", "xlsx")

TEXT = "text"
INTEGER = "integer"
DECIMAL = "decimal"
DATETIME = "datetime"
DATE = "date"
CHOICE = "choice"
BOOLEAN = "boolean"
PERCENT = "percent"
NUMBER = "number"

# A cell starting with one of these would be run by a spreadsheet as a formula (or a DDE command).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def safe_text(text: str) -> str:
    """The text as a spreadsheet shows it, never as a formula."""
    return "'" + text if text[:1] in FORMULA_STARTS else text


def resolve(row, path: str):
    """``path`` of a row: a key of a ``values()`` dict, or attributes joined by ``.`` or ``__``."""
    if isinstance(row, dict) and path in row:
        return row[path]
    value = row
    for part in path.replace("__", ".").split("."):
        if value is None:
            return None
        if part == "name" and isinstance(value, NamedInLanguages):
            return value.label  # reference data in the reader's language (values_in_language for dict rows)
        value = value[part] if isinstance(value, dict) else getattr(value, part)
    return value() if callable(value) else value


@dataclass(frozen=True)
class Column:
    """One column: its header (translated when written), its value and its kind.

    ``value`` is a dotted attribute path (``"call.customer.name"``) or a function of the row; ``choices`` maps
    a code to its label for ``CHOICE`` columns (a ``TextChoices`` class or a dict).
    """

    label: Any
    value: str | Callable[[Any], Any]
    kind: str = TEXT
    choices: Any = None
    # The ``values()`` names a function ``value`` reads from a dict row.
    needs: tuple = ()

    def raw(self, row):
        return self.value(row) if callable(self.value) else resolve(row, self.value)

    def cell(self, row, *, for_xlsx: bool):
        """The value as it goes into the file: a number, a local datetime or a safe text."""
        return self.converter(for_xlsx=for_xlsx)(row)

    def converter(self, *, for_xlsx: bool) -> Callable[[Any], Any]:
        """A function of the row giving this column's cell, prepared once per file (a million rows call it).

        Labels are translated and made safe here, once, in the language active now; the time zone is read once.
        """
        get = self.value if callable(self.value) else (lambda row, path=self.value: resolve(row, path))
        kind = self.kind
        empty = None if for_xlsx else ""

        def wrap(convert, *, blank_is_empty=True):
            def cell(row):
                value = get(row)
                if value is None or (blank_is_empty and value == ""):
                    return empty
                if isinstance(value, str) and kind != TEXT and kind != CHOICE:
                    return safe_text(value)  # a placeholder such as "—" where a figure is missing
                return convert(value)

            return cell

        if kind == CHOICE:
            pairs = self.choices.choices if hasattr(self.choices, "choices") else dict(self.choices or {}).items()
            labels = {code: safe_text(str(label)) for code, label in pairs}
            return wrap(lambda v: labels.get(v) or safe_text(str(v)))
        if kind == BOOLEAN:
            yes, no = _("Yes"), _("No")
            return wrap(lambda v: yes if v else no)
        if kind == INTEGER:
            return wrap(int)
        if kind == DECIMAL:
            return wrap(Decimal if for_xlsx else str)
        if kind in (NUMBER, PERCENT):  # a share is written as the fraction; Excel shows it as a percentage
            return wrap((lambda v: v) if for_xlsx else str)
        if kind in (DATETIME, DATE):
            zone = timezone.get_current_timezone()

            def moment(v):
                if not isinstance(v, dt.datetime):
                    return v if for_xlsx else v.isoformat()
                local = v.astimezone(zone) if v.tzinfo is not None else v
                if for_xlsx:
                    return local.replace(tzinfo=None, microsecond=0)
                return f"{local.year:04d}-{local.month:02d}-{local.day:02d} {local.hour:02d}:{local.minute:02d}"

            return wrap(moment)

        def text(v):
            if isinstance(v, int | float | Decimal) and not isinstance(v, bool):
                return v if for_xlsx else str(v)
            return safe_text(str(v))

        return wrap(text, blank_is_empty=False)


def _kind_of(field) -> str:
    from django.db import models

    if field.choices:
        return CHOICE
    if isinstance(field, models.DateTimeField):
        return DATETIME
    if isinstance(field, models.DateField):
        return DATE
    if isinstance(field, models.DecimalField):
        return DECIMAL
    if isinstance(field, models.BooleanField):
        return BOOLEAN
    if isinstance(field, models.IntegerField | models.AutoField) and not field.is_relation:
        return INTEGER
    return TEXT


def model_field(model, path: str):
    """The model field at the end of a ``__`` path (``call__customer__name`` of a voucher)."""
    field = None
    for part in path.split("__"):
        field = model._meta.get_field(part)
        if field.is_relation and field.related_model is not None:
            model = field.related_model
    return field


def fields(model, *paths: str, labels: dict | None = None) -> list[Column]:
    """Columns for model fields by ``__`` path: the field's own verbose name, kind and choices.

    The rows are then ``queryset.values(*paths)`` (one query, no model instances, streamed).
    """
    labels = labels or {}
    columns = []
    for path in paths:
        field = model_field(model, path)
        columns.append(
            Column(
                label=labels.get(path, field.verbose_name),
                value=path,
                kind=_kind_of(field),
                choices=field.choices or None,
            )
        )
    return columns


def value_paths(columns: list[Column]) -> list[str]:
    """The ``values()`` names of the columns that read a path (for ``queryset.values(*value_paths(...))``)."""
    paths = []
    for c in columns:
        for name in (c.value,) if isinstance(c.value, str) else c.needs:
            if name not in paths:
                paths.append(name)
    return paths


def person(path: str, label) -> Column:
    """A person's full name from a dict row's ``<path>__username/first_name/last_name``."""
    from .models import person_name

    names = (f"{path}__username", f"{path}__first_name", f"{path}__last_name")

    def value(row):
        if row.get(names[0]) is None:
            return None
        return person_name(username=row[names[0]], first_name=row[names[1]] or "", last_name=row[names[2]] or "")

    return Column(label=label, value=value, needs=names)


@dataclass(frozen=True)
class ExportSpec:
    """What one list page exports.

    ``rows(user=..., params=QueryDict)`` returns the rows the page shows for that query string (a QuerySet,
    streamed in chunks, or a list), raising Http404 for a unit the user may not see. ``columns`` is a list of
    ``Column`` or a function ``columns(user)`` (head office sees a unit column a branch does not).
    """

    key: str
    title: Any
    permission: str
    rows: Callable[..., Iterable]
    columns: list[Column] | Callable[[Any], list[Column]]
    filename: str = ""
    extra_permissions: tuple = field(default=())

    def columns_for(self, user) -> list[Column]:
        return self.columns(user) if callable(self.columns) else list(self.columns)

    def allowed(self, user) -> bool:
        return user.has_perm(self.permission) and all(user.has_perm(p) for p in self.extra_permissions)

    def file_name(self, fmt: str) -> str:
        stamp = timezone.localtime().strftime("%Y%m%d-%H%M")
        return f"{self.filename or self.key.replace('.', '-')}-{stamp}.{fmt}"


_REGISTRY: dict[str, ExportSpec] = {}


def register(spec: ExportSpec) -> ExportSpec:
    """Called from an app's ``AppConfig.ready``; a second registration of a key replaces the first."""
    _REGISTRY[spec.key] = spec
    return spec


def spec_for(key: str) -> ExportSpec:
    try:
        return _REGISTRY[key]
    except KeyError:
        raise Http404 from None


def registered() -> dict[str, ExportSpec]:
    return dict(_REGISTRY)


def iterate(rows: Iterable) -> Iterator:
    """The rows one batch at a time: a QuerySet through a server-side cursor, a list as it is."""
    if isinstance(rows, QuerySet):
        return rows.iterator(chunk_size=CHUNK_SIZE)
    return iter(rows)


def count(rows: Iterable) -> int:
    return rows.count() if isinstance(rows, QuerySet) else len(rows)


class _Line:
    """A file-like object that hands back what csv.writer writes, so rows are yielded, not buffered."""

    def write(self, value: str) -> str:
        return value


def csv_chunks(columns: list[Column], rows: Iterable, *, language: str | None = None) -> Iterator[bytes]:
    """The CSV's bytes: the BOM (Excel opens UTF-8 Chinese correctly only with it), the header, the rows."""
    with translation.override(language or translation.get_language()):
        writer = csv.writer(_Line())
        yield ("\ufeff" + writer.writerow([str(c.label) for c in columns])).encode("utf-8")
        cells = [c.converter(for_xlsx=False) for c in columns]
        batch = []
        for row in iterate(rows):
            batch.append(writer.writerow([cell(row) for cell in cells]))
            if len(batch) >= CHUNK_SIZE:
                yield "".join(batch).encode("utf-8")
                batch = []
        if batch:
            yield "".join(batch).encode("utf-8")


def csv_response(columns: list[Column], rows: Iterable, *, filename: str) -> HttpResponse | StreamingHttpResponse:
    """Streamed when the rows come from the database (a QuerySet); a list already in memory is sent whole."""
    chunks = csv_chunks(columns, rows, language=translation.get_language())
    if isinstance(rows, QuerySet):
        response = StreamingHttpResponse(chunks, content_type="text/csv; charset=utf-8")
    else:
        response = HttpResponse(b"".join(chunks), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


NUMBER_FORMATS = {DECIMAL: "#,##0.00", DATETIME: "yyyy-mm-dd hh:mm", DATE: "yyyy-mm-dd", PERCENT: "0.0%"}


def write_xlsx(
    out, columns: list[Column], rows: Iterable, *, title: str = "", progress: Callable[[int], None] | None = None
) -> int:
    """Write the workbook (openpyxl write-only mode: rows go to disk as they come) to ``out``; rows written."""
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Font

    book = Workbook(write_only=True)
    sheet = book.create_sheet(title=(title or "export")[:31])
    sheet.freeze_panes = "A2"
    bold = Font(bold=True)
    header = []
    for c in columns:
        cell = WriteOnlyCell(sheet, value=str(c.label))
        cell.font = bold
        header.append(cell)
    sheet.append(header)
    formats = [NUMBER_FORMATS.get(c.kind) for c in columns]
    cells = [c.converter(for_xlsx=True) for c in columns]
    written = 0
    for row in iterate(rows):
        values = []
        for cell_of, number_format in zip(cells, formats, strict=True):
            value = cell_of(row)
            if number_format and value is not None:
                cell = WriteOnlyCell(sheet, value=value)
                cell.number_format = number_format
                value = cell
            values.append(value)
        sheet.append(values)
        written += 1
        if progress and written % PROGRESS_EVERY == 0:
            progress(written)
    book.save(out)
    return written


def xlsx_response(columns: list[Column], rows: Iterable, *, filename: str, title: str = "") -> HttpResponse:
    buffer = io.BytesIO()
    write_xlsx(buffer, columns, rows, title=title)
    response = HttpResponse(buffer.getvalue(), content_type=XLSX_CONTENT_TYPE)
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


def params_of(request_or_params) -> QueryDict:
    params = getattr(request_or_params, "GET", request_or_params)
    if isinstance(params, QueryDict):
        return params
    query = QueryDict(mutable=True)
    for key, values in (params or {}).items():
        query.setlist(key, values if isinstance(values, list) else [values])
    return query


def export_response(request, key: str, fmt: str):
    """The file of page ``key`` in ``fmt`` for this request's user and query string.

    A CSV streams; an Excel file of more than ``XLSX_INLINE_ROWS`` rows becomes an export job for the worker
    and the user is sent to its progress page.
    """
    from django.core.exceptions import PermissionDenied

    if fmt not in FORMATS:
        raise Http404
    spec = spec_for(key)
    if not spec.allowed(request.user):
        raise PermissionDenied
    rows = spec.rows(user=request.user, params=request.GET)
    columns = spec.columns_for(request.user)
    if fmt == "csv":
        return csv_response(columns, rows, filename=spec.file_name("csv"))
    if count(rows) > XLSX_INLINE_ROWS:
        from django.shortcuts import redirect

        from .export_jobs import export_job_start

        job = export_job_start(user=request.user, page=key, fmt=fmt, params=request.GET)
        return redirect(job)
    return xlsx_response(columns, rows, filename=spec.file_name("xlsx"), title=str(spec.title))
