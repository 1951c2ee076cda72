"""The customer's side: a survey card answered from its private link, on a phone, with no login."""

from django.contrib.auth.decorators import login_not_required
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods

from servicedesk.client_address import client_address
from servicedesk.exceptions import ApplicationError
from servicedesk.models import CompanyProfile

from .. import selectors, services
from ..forms import OnlineAnswerForm
from ..ratelimit import allow

# Requests per window: generous for a customer (open, answer, maybe correct a
# mistake), far too few to guess a 96-bit token or to load the database.
PER_ADDRESS_LIMIT = 30
PER_CARD_LIMIT = 12
WINDOW_SECONDS = 600


def _problem(request, *, status: int, message: str):
    titles = {
        404: _("This link does not work"),
        410: _("This link can no longer be used"),
        429: _("Too many attempts"),
    }
    response = render(
        request,
        "complaints/public/link_problem.html",
        {"title": titles.get(status, titles[404]), "message": message, "company": CompanyProfile.current()},
        status=status,
    )
    if status == 429:
        response["Retry-After"] = str(WINDOW_SECONDS)
    return response


def _private(response):
    # The token is in the URL: keep it out of search engines. The site's same-origin
    # referrer policy already keeps it from other sites (no-referrer would make the
    # browser send "Origin: null" with the form, which CSRF protection refuses).
    response["X-Robots-Tag"] = "noindex, nofollow"
    return response


@login_not_required
@never_cache
@require_http_methods(["GET", "POST"])
def answer(request, card_id: int, token: str):
    address = client_address(request)
    if not (
        allow(scope="survey-address", key=address, limit=PER_ADDRESS_LIMIT, window_seconds=WINDOW_SECONDS)
        and allow(scope="survey-card", key=str(card_id), limit=PER_CARD_LIMIT, window_seconds=WINDOW_SECONDS)
    ):
        return _private(
            _problem(request, status=429, message=_("Please wait a few minutes before trying this link again."))
        )
    now = timezone.now()
    try:
        card = selectors.survey_card_for_link(card_id=card_id, token=token, now=now)
    except (services.SurveyLinkInvalid, services.SurveyLinkExpired, services.SurveyAlreadyAnswered) as exc:
        return _private(_problem(request, status=exc.status, message=exc.message))

    form = OnlineAnswerForm(request.POST or None)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                services.survey_card_answer_online(card_id=card.pk, token=token, answer=form.answer(), now=now)
            except (services.SurveyLinkInvalid, services.SurveyLinkExpired, services.SurveyAlreadyAnswered) as exc:
                return _private(_problem(request, status=exc.status, message=exc.message))
            except ApplicationError as exc:
                form.add_error(exc.field if exc.field in form.fields else None, exc.message)
            else:
                return _private(render(request, "complaints/public/thanks.html", {"company": CompanyProfile.current()}))
        status = 400
    return _private(
        render(
            request,
            "complaints/public/answer.html",
            {"card": card, "form": form, "company": CompanyProfile.current()},
            status=status,
        )
    )
