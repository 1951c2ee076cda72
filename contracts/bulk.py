"""The expiry notices' bulk action (servicedesk.bulk): print the selected notices together."""

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from servicedesk.bulk import BulkAction, BulkOutcome, bulk_register
from servicedesk.documents import pdf_response, render_pdf_many
from servicedesk.exceptions import ApplicationError

from . import selectors
from .services.notices import NOTICE_TEMPLATE, expiry_notice_context


def print_notices(*, user, ids, data) -> BulkOutcome:
    notices = selectors.expiry_notices_for_user(user=user, ids=ids)
    if not notices:
        raise ApplicationError(_("None of the selected expiry notices is yours to print."))
    documents = [(NOTICE_TEMPLATE, expiry_notice_context(notice)) for notice in notices]
    return BulkOutcome(response=pdf_response(render_pdf_many(documents), filename="expiry-notices"))


def register_bulk_actions() -> None:
    bulk_register(
        BulkAction(
            page="expiry-notices",
            name="print",
            label=gettext_lazy("Print notices together"),
            permission="contracts.view_contract",
            run=print_notices,
        )
    )
