"""The API is throttled per user in the shared cache; one user's flood does not stop another."""

import pytest
from django.conf import settings
from django.core.cache import cache
from django.test import override_settings


@pytest.fixture
def three_a_minute():
    cache.clear()
    rates = {**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": {"api_user": "3/min"}}
    with override_settings(REST_FRAMEWORK=rates):
        yield
    cache.clear()


def test_the_fourth_request_in_a_minute_is_429_and_another_user_goes_on(
    api_for, three_a_minute, dispatcher, technician
):
    desk = api_for(dispatcher)
    assert [desk.get("/api/v1/calls/").status_code for _ in range(3)] == [200, 200, 200]
    refused = desk.get("/api/v1/calls/")
    assert refused.status_code == 429
    assert int(refused["Retry-After"]) > 0
    assert "Too many requests" in refused.json()["detail"]
    assert api_for(technician).get("/api/v1/calls/").status_code == 200


def test_the_count_is_per_user_not_per_token(api_for, three_a_minute, dispatcher):
    first, second = api_for(dispatcher), api_for(dispatcher)
    for _ in range(3):
        first.get("/api/v1/calls/")
    assert second.get("/api/v1/calls/").status_code == 429
