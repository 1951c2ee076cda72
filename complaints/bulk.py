"""The survey batches' bulk action (servicedesk.bulk): print the cards of the selected days together."""

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from servicedesk.bulk import BulkAction, BulkOutcome, bulk_register
from servicedesk.documents import pdf_response, render_pdf_many
from servicedesk.exceptions import ApplicationError

from . import selectors
from .documents import SURVEY_BATCH_TEMPLATE, survey_batch_context


def print_batches(*, user, ids, data) -> BulkOutcome:
    batches = list(selectors.survey_batch_list(user=user).filter(pk__in=ids).order_by("day", "unit__name", "pk"))
    documents = [
        (SURVEY_BATCH_TEMPLATE, survey_batch_context(batch=batch, cards=cards))
        for batch in batches
        if (cards := selectors.survey_batch_cards(batch=batch))
    ]
    if not documents:
        raise ApplicationError(_("The selected days have no survey cards to print."))
    return BulkOutcome(response=pdf_response(render_pdf_many(documents), filename="survey-cards"))


def register_bulk_actions() -> None:
    bulk_register(
        BulkAction(
            page="survey-cards",
            name="print",
            label=gettext_lazy("Print together"),
            permission="complaints.print_survey_cards",
            run=print_batches,
        )
    )
