"""The parts catalogue imported from a CSV or Excel file: every row valid, or nothing changes."""

from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from django.db import transaction
from django.utils.translation import gettext as _

from servicedesk.exceptions import ApplicationError
from servicedesk.tables import cell_text, read_table

from .models import Part

# Header names accepted for each column (English and Chinese, case-insensitive).
HEADERS = {
    "part_number": ("part number", "part_number", "零件号", "备件号", "零件编号"),
    "name": ("name", "名称", "零件名称"),
    "unit_price": ("unit price", "unit_price", "price", "单价"),
    "warranty_free": ("free under warranty", "warranty_free", "保修免费"),
    "is_active": ("active", "is_active", "启用"),
}
YES = {"1", "yes", "y", "true", "是", "x", "✓"}
NO = {"0", "no", "n", "false", "否", ""}
MAX_ERRORS_SHOWN = 20


@dataclass(frozen=True)
class ImportOutcome:
    created: int
    updated: int


def _columns(header: list[str]) -> dict[str, int]:
    names = [h.strip().lower() for h in header]
    columns = {}
    for key, accepted in HEADERS.items():
        for i, name in enumerate(names):
            if name in accepted:
                columns[key] = i
                break
    missing = [HEADERS[k][0] for k in ("part_number", "name", "unit_price") if k not in columns]
    if missing:
        raise ApplicationError(_("The file has no column for: %(columns)s.") % {"columns": ", ".join(missing)})
    return columns


def _flag(value, *, default: bool, line: int, errors: list) -> bool:
    text = cell_text(value).lower()
    if text in YES:
        return True
    if text in NO:
        return default if not text else False
    errors.append(_("Line %(line)d: “%(value)s” is not yes or no.") % {"line": line, "value": text[:30]})
    return default


@transaction.atomic
def part_catalogue_import(*, user, content: bytes, filename: str) -> ImportOutcome:
    """Create or update catalogue parts by part number from an uploaded table."""
    if not user.has_perm("parts.add_part") or not user.has_perm("parts.change_part"):
        raise ApplicationError(_("You may not change the parts catalogue."))
    header, data = read_table(content=content, filename=filename)
    columns = _columns(header)
    rows, errors, seen = {}, [], set()
    number_field = Part._meta.get_field("part_number")
    name_field = Part._meta.get_field("name")

    def cell(cells, key):
        i = columns.get(key)
        return cells[i] if i is not None and i < len(cells) else None

    for line, cells in data:
        number = cell_text(cell(cells, "part_number"))
        name = cell_text(cell(cells, "name"))
        if not number:
            errors.append(_("Line %(line)d: the part number is missing.") % {"line": line})
            continue
        if len(number) > number_field.max_length or len(name) > name_field.max_length:
            errors.append(_("Line %(line)d: the part number or name is too long.") % {"line": line})
            continue
        if number in seen:
            errors.append(_("Line %(line)d: part %(part)s appears twice.") % {"line": line, "part": number})
            continue
        seen.add(number)
        if not name:
            errors.append(_("Line %(line)d: the name is missing.") % {"line": line})
            continue
        try:
            price = Decimal(cell_text(cell(cells, "unit_price")).replace(",", "").replace("¥", "") or "x")
        except InvalidOperation:
            price = None
        if (
            price is None
            or not price.is_finite()
            or price < 0
            or price >= Decimal("1e8")
            or price != price.quantize(Decimal("0.01"))
        ):
            errors.append(_("Line %(line)d: the unit price is not an amount in yuan.") % {"line": line})
            continue
        rows[number] = {
            "name": name,
            "unit_price": price,
            "warranty_free": _flag(cell(cells, "warranty_free"), default=True, line=line, errors=errors),
            "is_active": _flag(cell(cells, "is_active"), default=True, line=line, errors=errors),
        }
    if errors:
        shown = errors[:MAX_ERRORS_SHOWN]
        more = len(errors) - len(shown)
        message = " ".join(shown)
        if more:
            message += " " + _("… and %(count)d more.") % {"count": more}
        raise ApplicationError(_("Nothing was imported. %(errors)s") % {"errors": message})
    existing = {p.part_number: p for p in Part.objects.filter(part_number__in=list(rows)).select_for_update()}
    created = [Part(part_number=n, **values) for n, values in rows.items() if n not in existing]
    changed = []
    for number, part in existing.items():
        for key, value in rows[number].items():
            setattr(part, key, value)
        changed.append(part)
    Part.objects.bulk_create(created)
    Part.objects.bulk_update(changed, ["name", "unit_price", "warranty_free", "is_active"])
    return ImportOutcome(created=len(created), updated=len(changed))
