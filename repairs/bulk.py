"""The repair-card list's bulk action (servicedesk.bulk): print the selected cards together."""

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from servicedesk.bulk import BulkAction, BulkOutcome, bulk_register
from servicedesk.documents import pdf_response, render_pdf_many
from servicedesk.exceptions import ApplicationError
from servicedesk.workflow import history_for

from . import selectors_field


def print_cards(*, user, ids, data) -> BulkOutcome:
    cards = list(
        selectors_field.card_queryset(user=user)
        .filter(pk__in=ids)
        .select_related("unit", "call__customer", "call__site", "call__product", "technician", "register_entry")
        .order_by("number")
    )
    if not cards:
        raise ApplicationError(_("None of the selected repair cards is yours to print."))
    documents = [
        (
            "repairs/pdf/repair_card.html",
            {"card": card, "entry": card.register_entry, "call": card.call, "history": history_for(card)},
        )
        for card in cards
    ]
    return BulkOutcome(response=pdf_response(render_pdf_many(documents), filename="repair-cards"))


def register_bulk_actions() -> None:
    bulk_register(
        BulkAction(
            page="repair-cards",
            name="print",
            label=gettext_lazy("Print together"),
            permission="repairs.view_repaircard",
            run=print_cards,
        )
    )
