"""How the technician's pages are drawn: their cards, part rows and catalogue, computed in Python (issue 17).

The technician opens these pages on every visit, on a phone: my calls, the voucher form, the
voucher's signature, the repair card. As on the dispatch board (``repairs.presenters``), their
repeated pieces are written here rather than through a template per row and per widget;
every value is escaped.
"""

import datetime as dt
import html
from urllib.parse import quote

from django.urls import reverse
from django.utils import timezone
from django.utils.safestring import SafeString, mark_safe
from django.utils.text import Truncator
from django.utils.translation import gettext as _

from servicedesk.form_html import field_html

from .models import RepairCall, RepairCard
from .presenters import deadline_state

e = html.escape

# A search on the map by the site's address: on a phone it opens the map app (Amap) where one is installed,
# otherwise its web page; no key, and nothing about the call but the address leaves the desk.
MAP_SEARCH_URL = "https://uri.amap.com/search?keyword={query}"


def map_url(address: str) -> str:
    return MAP_SEARCH_URL.format(query=quote(address or "", safe=""))


def map_link_html(address: str) -> SafeString:
    """A button-sized link to the site on the map (empty for a site without an address)."""
    if not (address or "").strip():
        return mark_safe("")
    return mark_safe(  # noqa: S308 - every value is escaped
        f'<a class="btn btn-outline-secondary map-link" href="{e(map_url(address))}" target="_blank" '
        f'rel="noopener noreferrer">{e(_("Map"))}</a>'
    )


_CALL_PLACEHOLDER = 2_147_483_647


def my_call_cards_html(calls: list[RepairCall], *, now: dt.datetime) -> SafeString:
    """The technician's calls of the day as cards: number, deadline, customer, status, site with its map link."""
    url_pattern = reverse("repairs:call_detail", args=[_CALL_PLACEHOLDER])
    status_labels = {value: str(label) for value, label in RepairCall.Status.choices}
    out = []
    for call in calls:
        state = deadline_state(call, now)
        url = url_pattern.replace(str(_CALL_PLACEHOLDER), str(call.pk))
        address = call.site.address
        out.append(
            f'<div class="card mb-2 my-call {state.css}" data-call="{e(call.number)}"><div class="card-body">'
            f'<a class="d-block text-decoration-none text-body call-link" href="{e(url)}">'
            f'<div class="d-flex justify-content-between gap-2"><strong>{e(call.number)}</strong>'
            f'<span class="badge text-bg-{state.badge}">{e(state.text)}</span></div>'
            f"<div>{e(call.customer.name)} · {e(status_labels[call.status])}</div>"
            f'<div class="small">{e(address)} ({e(call.zone.label)})</div>'
            f'<div class="small text-muted">{e(Truncator(call.problem).chars(80))}</div></a>'
            f'<div class="mt-2">{map_link_html(address)}</div>'
            "</div></div>"
        )
    return mark_safe("\n".join(out))  # noqa: S308 - every value is escaped


def part_row_html(form) -> str:
    """One part row of the voucher form: part number (from the catalogue), description, quantity, unit price."""
    cells = (
        ("col-12 col-sm-6 col-md-3", "part_number"),
        ("col-12 col-sm-6 col-md-4", "description"),
        ("col-6 col-md-2", "quantity"),
        ("col-6 col-md-3", "unit_price"),
    )
    errors = "".join(f'<div class="alert alert-danger py-1">{e(str(error))}</div>' for error in form.non_field_errors())
    return (
        f'<div class="row g-2 border-bottom mb-2 part-row" data-part-row>{errors}'
        + "".join(f'<div class="{css}">{field_html(form[name])}</div>' for css, name in cells)
        + "</div>"
    )


def part_rows_html(formset) -> SafeString:
    return mark_safe("".join(part_row_html(form) for form in formset.forms))  # noqa: S308 - every value is escaped


def part_row_template_html(formset) -> SafeString:
    """An empty row (``__prefix__`` for its number) that static/js/voucher_parts.js copies when a part is added."""
    return mark_safe(part_row_html(formset.empty_form))  # noqa: S308 - every value is escaped


def catalogue_datalist_html(parts) -> SafeString:
    """The catalogue as the part number's suggestions; each carries its price for the running total."""
    options = "".join(
        f'<option value="{e(part.part_number)}" data-price="{part.unit_price}">'
        f"{e(part.name)} · {part.unit_price}</option>"
        for part in parts
    )
    return mark_safe(f'<datalist id="catalogue-parts">{options}</datalist>')  # noqa: S308 - every value is escaped


def card_list_html(cards: list[RepairCard], *, now: dt.datetime, select_form: str = "bulk-repair-cards") -> SafeString:
    """The repair cards' rows; on a phone each row shows as a card (static/css: ``.cards-on-phone``).

    Each row starts with the checkbox of the list's bulk actions (servicedesk.bulk)."""
    url_pattern = reverse("repairs:card_detail", args=[_CALL_PLACEHOLDER])
    status_labels = {value: str(label) for value, label in RepairCard.Status.choices}
    local = timezone.get_current_timezone()
    headers = [_("Card"), _("Customer"), _("Status"), _("Promised"), _("Technician"), _("Receipt")]
    select_label = _("Select")
    out = []
    for card in cards:
        url = url_pattern.replace(str(_CALL_PLACEHOLDER), str(card.pk))
        late = card.status in RepairCard.OPEN and card.promised_at < now
        cells = (
            f'<a href="{e(url)}">{e(card.number)}</a>',
            e(card.call.customer.name),
            e(status_labels[card.status]),
            f"{card.promised_at.astimezone(local):%Y-%m-%d %H:%M}",
            e(str(card.technician)),
            e(card.register_entry.receipt_number),
        )
        out.append(
            f'<tr class="{"row-overdue" if late else ""}">'
            f'<td><input class="form-check-input bulk-select" type="checkbox" name="ids" value="{card.pk}"'
            f' form="{e(select_form)}" aria-label="{e(select_label)} {e(card.number)}"></td>'
            + "".join(f'<td data-label="{e(str(h))}">{c}</td>' for h, c in zip(headers, cells, strict=True))
            + "</tr>"
        )
    return mark_safe("\n".join(out))  # noqa: S308 - every value is escaped
