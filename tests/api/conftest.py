import json

import pytest
from django.test import Client

from api.services import api_token_create


class ApiClient:
    """A client that sends a token (never a session) and JSON, the way another system calls the API."""

    def __init__(self, raw: str | None, *, language: str = "en"):
        self.raw = raw
        self.client = Client(raise_request_exception=False, enforce_csrf_checks=True)
        self.language = language

    def _headers(self):
        headers = {"HTTP_ACCEPT_LANGUAGE": self.language}
        if self.raw is not None:
            headers["HTTP_AUTHORIZATION"] = f"Bearer {self.raw}"
        return headers

    def get(self, url, params=None):
        return self.client.get(url, params or {}, **self._headers())

    def post(self, url, data=None):
        return self.client.post(url, json.dumps(data or {}), content_type="application/json", **self._headers())


@pytest.fixture
def api_for():
    def make(user, *, lifetime_days=30, language="en"):
        _token, raw = api_token_create(user=user, name="ERP link", lifetime_days=lifetime_days)
        return ApiClient(raw, language=language)

    return make
