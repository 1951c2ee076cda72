"""CSRF is enforced on every state change: without the token nothing happens."""

import re

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from repairs.models import Customer, RepairCall
from repairs.views.calls import ACTIONS
from servicedesk.models import StatusChange
from tests.factories import log_call
from tests.repairs.conftest import new_call_form

TOKEN = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')


@pytest.fixture
def strict(dispatcher):
    client = Client(enforce_csrf_checks=True)
    client.force_login(dispatcher)
    return client


def test_logging_a_call_without_the_token_is_refused_and_saves_nothing(strict, urban):
    response = strict.post(reverse("repairs:call_log"), new_call_form(urban))
    assert response.status_code == 403
    assert not RepairCall.objects.exists() and not Customer.objects.exists()


def test_logging_a_call_with_the_token_from_the_page_works(strict, urban):
    token = TOKEN.search(strict.get(reverse("repairs:call_log")).text).group(1)
    response = strict.post(reverse("repairs:call_log"), {**new_call_form(urban), "csrfmiddlewaretoken": token})
    assert response.status_code == 302
    assert RepairCall.objects.count() == 1


@pytest.mark.parametrize("action", sorted(ACTIONS))
def test_every_call_action_without_the_token_is_refused_and_changes_nothing(
    strict, dispatcher, technician, supervisor, action
):
    call = log_call(dispatcher=dispatcher)
    strict.force_login(supervisor)
    history = StatusChange.objects.count()
    response = strict.post(
        reverse("repairs:call_action", args=[call.pk, action]),
        {
            "version": 1,
            "technician": technician.pk,
            "reason": "x",
            "outcome": "x",
            "note": "x",
            "arrived_at": timezone.localtime().strftime("%Y-%m-%dT%H:%M"),
        },
    )
    assert response.status_code == 403
    fresh = RepairCall.objects.get(pk=call.pk)
    assert (fresh.status, fresh.version) == (RepairCall.Status.LOGGED, 1)
    assert StatusChange.objects.count() == history


def test_a_token_from_another_session_is_refused(strict, dispatcher, urban):
    other = Client(enforce_csrf_checks=True)
    other.force_login(dispatcher)
    foreign = TOKEN.search(other.get(reverse("repairs:call_log")).text).group(1)
    strict.get(reverse("repairs:call_log"))
    strict.cookies.pop("csrftoken", None)
    response = strict.post(reverse("repairs:call_log"), {**new_call_form(urban), "csrfmiddlewaretoken": foreign})
    assert response.status_code == 403
    assert not RepairCall.objects.exists()


def test_htmx_requests_carry_the_token_in_a_header(strict):
    page = strict.get(reverse("repairs:board")).text
    assert 'hx-headers=\'{"X-CSRFToken": "' in page
