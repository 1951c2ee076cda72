"""A customer answers a survey card from its private link on a phone (headless Chromium, 390×844)."""

import pytest
from django.utils import timezone

from complaints.models import CustomerOpinion, SurveyCard
from repairs import services as repair_services
from tests.browser import launched_chromium
from tests.factories import log_call

from .conftest import card_of, run_for

CSP_LISTENER = """
window.__cspViolations = [];
document.addEventListener("securitypolicyviolation", (e) => {
  window.__cspViolations.push(e.violatedDirective + " " + (e.blockedURI || "inline"));
});
"""

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True, serialized_rollback=True)]


@pytest.fixture
def phone():
    with launched_chromium() as browser:
        context = browser.new_context(
            viewport={"width": 390, "height": 844}, device_scale_factor=2, is_mobile=True, has_touch=True
        )
        context.add_init_script(CSP_LISTENER)
        page = context.new_page()
        page.set_default_timeout(15_000)
        errors = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
        page.on("response", lambda r: errors.append(f"{r.status} {r.url}") if r.status == 404 else None)
        yield page, errors
        context.close()


def test_a_customer_answers_the_card_from_its_link_on_a_phone(live_server, phone, dispatcher, technician):
    call = log_call(dispatcher=dispatcher)
    repair_services.repair_call_dispatch(user=dispatcher, call_id=call.pk, technician=technician)
    run_for(timezone.localdate())
    card = card_of(call)
    page, errors = phone

    page.goto(f"{live_server.url}/s/{card.pk}/{card.token}/")
    assert page.locator("h1").inner_text()
    assert page.evaluate("document.documentElement.scrollWidth") <= 390  # no sideways scrolling
    page.locator("#q-attitude label", has_text="5").tap()
    page.locator("#q-technique label", has_text="4").tap()
    page.locator("#q-arrival label", has_text="2").tap()
    page.locator("#q-follow_through label", has_text="3").tap()
    page.get_by_role("radio", name="Complaint").check()
    page.locator("textarea").fill("The technician came a day late.")
    page.get_by_role("button", name="Send my answer").tap()

    page.locator("#survey-thanks").wait_for()
    assert page.evaluate("window.__cspViolations") == []
    assert errors == []
    answered = SurveyCard.objects.get(pk=card.pk)
    assert answered.status == SurveyCard.Status.ANSWERED
    assert (answered.rating_attitude, answered.rating_technique, answered.rating_arrival) == (5, 4, 2)
    assert answered.rating_follow_through == 3
    opinion = CustomerOpinion.objects.get()
    assert opinion.kind == CustomerOpinion.Kind.COMPLAINT and opinion.technician == technician

    # The same link again: a clear page, nothing changed.
    response = page.goto(f"{live_server.url}/s/{card.pk}/{card.token}/")
    assert response.status == 410
    assert page.locator("#survey-link-problem").is_visible()
