"""API tokens: issued to their owner once, stored as a digest, revoked by the owner or an administrator."""

import datetime as dt
import hashlib
import secrets

from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from servicedesk.exceptions import ApplicationError

from .models import ApiToken

TOKEN_PREFIX = "sdk_"  # noqa: S105 - the visible start of every token, not a secret
# A token lives at most a year; a user keeps at most this many usable tokens (one per system they connect).
MAX_LIFETIME_DAYS = 366
MAX_ACTIVE_TOKENS = 20
# A token's "last used" is written at most this often: not one UPDATE per request.
LAST_USED_RESOLUTION = dt.timedelta(minutes=1)


def token_digest(raw: str) -> str:
    return hashlib.sha256(raw.encode("utf-8")).hexdigest()


def may_manage_tokens_of_others(user) -> bool:
    return user.is_active and user.has_perm("api.change_apitoken")


@transaction.atomic
def api_token_create(*, user, name: str, lifetime_days: int, now: dt.datetime | None = None) -> tuple[ApiToken, str]:
    """A new token for ``user``; returns it with the raw value, which is never stored and shown only now."""
    now = now or timezone.now()
    if not (user and user.is_authenticated and user.is_active):
        raise ApplicationError(_("You are not allowed to do this."))
    name = (name or "").strip()
    if not name:
        raise ApplicationError(_("Say what the token is for."), field="name")
    if not 1 <= lifetime_days <= MAX_LIFETIME_DAYS:
        raise ApplicationError(
            _("A token lasts from 1 to %(days)d days.") % {"days": MAX_LIFETIME_DAYS}, field="lifetime_days"
        )
    # The user's row is locked so that two requests at once cannot both pass the count.
    get_user_model().objects.select_for_update().filter(pk=user.pk).first()
    active = ApiToken.objects.filter(user=user, revoked_at__isnull=True, expires_at__gt=now).count()
    if active >= MAX_ACTIVE_TOKENS:
        raise ApplicationError(
            _("You already have %(count)d tokens in use; revoke one first.") % {"count": MAX_ACTIVE_TOKENS}
        )
    raw = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken.objects.create(
        user=user,
        name=name,
        prefix=raw[:12],
        digest=token_digest(raw),
        created_at=now,
        expires_at=now + dt.timedelta(days=lifetime_days),
    )
    return token, raw


@transaction.atomic
def api_token_revoke(*, user, token_id: int, now: dt.datetime | None = None) -> ApiToken:
    """Revoke one of the user's own tokens, or anyone's for an administrator; revoking twice changes nothing."""
    now = now or timezone.now()
    tokens = ApiToken.objects.select_for_update()
    if not may_manage_tokens_of_others(user):
        tokens = tokens.filter(user_id=user.pk)
    token = tokens.filter(pk=token_id).first()
    if token is None:
        raise ApplicationError(_("No such token."))
    if token.revoked_at is None:
        token.revoked_at = now
        token.revoked_by = user
        token.save(update_fields=["revoked_at", "revoked_by"])
    return token


def api_token_authenticate(*, raw: str, now: dt.datetime | None = None) -> ApiToken | None:
    """The usable token with this value and its active user, or None (unknown, expired, revoked, inactive)."""
    if not raw or not raw.startswith(TOKEN_PREFIX) or len(raw) > 100:
        return None
    now = now or timezone.now()
    token = (
        ApiToken.objects.select_related("user", "user__unit")
        .filter(digest=token_digest(raw), revoked_at__isnull=True, expires_at__gt=now, user__is_active=True)
        .first()
    )
    if token is None:
        return None
    if token.last_used_at is None or now - token.last_used_at >= LAST_USED_RESOLUTION:
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
        token.last_used_at = now
    return token
