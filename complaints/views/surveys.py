"""Staff pages for survey cards: the daily batches for mailing and the fast entry of returned cards."""

from django.contrib import messages
from django.contrib.auth.decorators import permission_required
from django.core.paginator import Paginator
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods

from servicedesk.documents import pdf_response
from servicedesk.exceptions import ApplicationError

from .. import selectors, services
from ..documents import survey_batch_pdf
from ..forms import PaperCardEntryForm

BATCHES_PER_PAGE = 50


@require_GET
@permission_required("complaints.view_surveycard", raise_exception=True)
def batch_list(request):
    paginator = Paginator(selectors.survey_batch_list(user=request.user), BATCHES_PER_PAGE)
    page = paginator.get_page(request.GET.get("page"))
    return render(request, "complaints/batch_list.html", {"page": page})


@require_GET
@permission_required("complaints.print_survey_cards", raise_exception=True)
def batch_pdf(request, pk: int):
    batch = selectors.survey_batch_get_for_user(user=request.user, pk=pk)
    cards = selectors.survey_batch_cards(batch=batch)
    pdf = survey_batch_pdf(batch=batch, cards=cards)
    return pdf_response(pdf, filename=f"survey-cards-{batch.unit.code}-{batch.day:%Y%m%d}")


@require_http_methods(["GET", "POST"])
@permission_required("complaints.enter_survey_answer", raise_exception=True)
def paper_entry(request):
    """Keyboard only: card number, four digits, Enter; then ready for the next card."""
    form = PaperCardEntryForm(request.POST or None)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                card = services.survey_card_answer_on_paper(
                    user=request.user, card_id=form.cleaned_data["card_number"], answer=form.answer()
                )
            except ApplicationError as exc:
                field = {
                    "rating_attitude": "attitude",
                    "rating_technique": "technique",
                    "rating_arrival": "arrival",
                    "rating_follow_through": "follow_through",
                }.get(exc.field, exc.field)
                form.add_error(field if field in form.fields else None, exc.message)
            else:
                messages.success(request, _("Card %(number)s saved.") % {"number": card.display_number})
                return redirect("complaints:paper_entry")
        status = 400
    return render(
        request,
        "complaints/paper_entry.html",
        {"form": form, "recent": selectors.survey_card_recent_entries(user=request.user)},
        status=status,
    )
