"""API tokens: stored as a digest, shown once, expiring, revocable by the owner and an administrator."""

import datetime as dt
import hashlib

import pytest
from django.contrib.auth.models import Permission
from django.urls import reverse
from django.utils import timezone

from api.models import ApiToken
from api.services import MAX_LIFETIME_DAYS, api_token_create, api_token_revoke
from servicedesk.exceptions import ApplicationError
from tests.factories import UserFactory

from .conftest import ApiClient

CALLS = "/api/v1/calls/"


def test_only_the_digest_of_a_token_is_stored(dispatcher):
    token, raw = api_token_create(user=dispatcher, name="ERP", lifetime_days=30)
    row = ApiToken.objects.get(pk=token.pk)
    assert row.digest == hashlib.sha256(raw.encode()).hexdigest()
    assert raw not in {str(v) for v in ApiToken.objects.filter(pk=token.pk).values_list().get()}
    assert raw.startswith(row.prefix) and len(row.prefix) < len(raw) // 3


def test_a_valid_token_opens_the_api_and_is_marked_used(dispatcher):
    token, raw = api_token_create(user=dispatcher, name="ERP", lifetime_days=30)
    response = ApiClient(raw).get(CALLS)
    assert response.status_code == 200, response.content
    token.refresh_from_db()
    assert token.last_used_at is not None


@pytest.mark.parametrize("header", [None, "Bearer sdk_not-a-token", "Bearer", "Basic dXNlcjpwdw=="])
def test_no_token_or_a_wrong_one_is_401_with_the_scheme_named(db, header):
    client = ApiClient(None)
    extra = {"HTTP_AUTHORIZATION": header} if header else {}
    response = client.client.get(CALLS, **extra)
    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith("Bearer")
    assert "detail" in response.json()


def test_an_expired_token_is_refused(dispatcher):
    token, raw = api_token_create(user=dispatcher, name="ERP", lifetime_days=1)
    assert ApiClient(raw).get(CALLS).status_code == 200
    ApiToken.objects.filter(pk=token.pk).update(expires_at=timezone.now() - dt.timedelta(seconds=1))
    response = ApiClient(raw).get(CALLS)
    assert response.status_code == 401
    assert "expired" in response.json()["detail"]


def test_a_revoked_token_is_refused_at_once(dispatcher):
    token, raw = api_token_create(user=dispatcher, name="ERP", lifetime_days=30)
    assert ApiClient(raw).get(CALLS).status_code == 200
    api_token_revoke(user=dispatcher, token_id=token.pk)
    assert ApiClient(raw).get(CALLS).status_code == 401


def test_a_deactivated_users_token_is_refused(dispatcher):
    _token, raw = api_token_create(user=dispatcher, name="ERP", lifetime_days=30)
    dispatcher.is_active = False
    dispatcher.save(update_fields=["is_active"])
    assert ApiClient(raw).get(CALLS).status_code == 401


def test_the_refusal_is_in_the_callers_language(dispatcher):
    response = ApiClient("sdk_unknown", language="zh-hans").get(CALLS)
    assert response.status_code == 401
    detail = response.json()["detail"]
    assert any("\u4e00" <= ch <= "\u9fff" for ch in detail), detail


def test_lifetime_and_count_are_bounded(dispatcher):
    with pytest.raises(ApplicationError):
        api_token_create(user=dispatcher, name="ERP", lifetime_days=MAX_LIFETIME_DAYS + 1)
    with pytest.raises(ApplicationError):
        api_token_create(user=dispatcher, name="  ", lifetime_days=30)
    for i in range(20):
        api_token_create(user=dispatcher, name=f"system {i}", lifetime_days=30)
    with pytest.raises(ApplicationError):
        api_token_create(user=dispatcher, name="one too many", lifetime_days=30)


def test_a_user_cannot_revoke_another_users_token(dispatcher, technician):
    token, raw = api_token_create(user=dispatcher, name="ERP", lifetime_days=30)
    with pytest.raises(ApplicationError):
        api_token_revoke(user=technician, token_id=token.pk)
    assert ApiClient(raw).get(CALLS).status_code == 200


def test_the_tokens_page_shows_a_new_token_once_and_revokes_it(client, dispatcher):
    client.force_login(dispatcher)
    response = client.post(reverse("api:tokens"), {"name": "ERP link", "lifetime_days": "30"})
    assert response.status_code == 200
    token = ApiToken.objects.get(user=dispatcher)
    raw = response.context["issued"]["raw"]
    assert raw in response.text
    again = client.get(reverse("api:tokens"))
    assert raw not in again.text and token.prefix in again.text
    assert ApiClient(raw).get(CALLS).status_code == 200
    response = client.post(reverse("api:token_revoke"), {"token": token.pk})
    assert response.status_code == 302
    assert ApiClient(raw).get(CALLS).status_code == 401


def test_the_tokens_page_refuses_a_lifetime_beyond_the_bound(client, dispatcher):
    client.force_login(dispatcher)
    response = client.post(reverse("api:tokens"), {"name": "ERP", "lifetime_days": str(MAX_LIFETIME_DAYS + 1)})
    assert response.status_code == 400
    assert not ApiToken.objects.exists()


def test_revoking_another_users_token_from_the_page_changes_nothing(client, dispatcher, technician):
    token, _raw = api_token_create(user=technician, name="ERP", lifetime_days=30)
    client.force_login(dispatcher)
    client.post(reverse("api:token_revoke"), {"token": token.pk})
    token.refresh_from_db()
    assert token.revoked_at is None


def test_an_administrator_revokes_any_token_in_the_admin(client, dispatcher):
    token, raw = api_token_create(user=dispatcher, name="ERP", lifetime_days=30)
    admin = UserFactory(username="admin-api", unit=dispatcher.unit, is_staff=True)
    admin.user_permissions.add(
        *Permission.objects.filter(content_type__app_label="api", codename__in=["view_apitoken", "change_apitoken"])
    )
    client.force_login(admin)
    listing = client.get(reverse("admin:api_apitoken_changelist"))
    assert listing.status_code == 200 and token.prefix in listing.text and token.digest not in listing.text
    response = client.post(
        reverse("admin:api_apitoken_changelist"), {"action": "revoke", "_selected_action": [token.pk]}
    )
    assert response.status_code == 302
    token.refresh_from_db()
    assert token.revoked_at is not None and token.revoked_by == admin
    assert ApiClient(raw).get(CALLS).status_code == 401
