"""How the API authenticates, throttles and answers errors (DRF plumbing, no business rules).

- ``Authorization: Bearer sdk_...``: a per-user token (api.models.ApiToken); unknown, expired, revoked and
  an inactive user's tokens all get 401 with the same message. The token is looked up on every request; the
  user's permissions and roles come from the short-lived cache every request uses (servicedesk.backends).
- Throttled per user with DRF's throttles in the shared cache (Redis in production): the rate is a setting.
- Errors: api/errors.py.
"""

from django.utils.translation import gettext as _
from rest_framework import exceptions
from rest_framework.authentication import BaseAuthentication, get_authorization_header
from rest_framework.settings import api_settings
from rest_framework.throttling import UserRateThrottle

from .services import api_token_authenticate


class TokenAuthentication(BaseAuthentication):
    keywords = (b"bearer", b"token")

    def authenticate(self, request):
        header = get_authorization_header(request).split()
        if not header or header[0].lower() not in self.keywords:
            return None
        if len(header) != 2:
            raise exceptions.AuthenticationFailed(_("Send the token as “Authorization: Bearer <token>”."))
        try:
            raw = header[1].decode("ascii")
        except UnicodeDecodeError:
            raise exceptions.AuthenticationFailed(_("This token is not valid, has expired or was revoked.")) from None
        token = api_token_authenticate(raw=raw)
        if token is None:
            raise exceptions.AuthenticationFailed(_("This token is not valid, has expired or was revoked."))
        return token.user, token

    def authenticate_header(self, request):
        return 'Bearer realm="api"'


class _SettingsRate:
    """The rate read at each request, not at import: a changed setting (a test's override) applies at once."""

    def get_rate(self):
        return api_settings.DEFAULT_THROTTLE_RATES.get(self.scope)


class ApiUserThrottle(_SettingsRate, UserRateThrottle):
    scope = "api_user"
