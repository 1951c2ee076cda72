"""The pages around the API: a user's own tokens, and the documentation (both behind the ordinary login)."""

import functools

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods, require_POST
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView
from rest_framework.authentication import SessionAuthentication
from rest_framework.permissions import IsAuthenticated

from servicedesk.exceptions import ApplicationError

from . import selectors, services
from .forms import ApiTokenForm, ApiTokenRevokeForm
from .rest import ApiUserThrottle, TokenAuthentication


@require_http_methods(["GET", "POST"])
def tokens(request):
    """The user's tokens; a new token's value is shown on this answer only (it is stored as a digest)."""
    form = ApiTokenForm(request.POST if request.method == "POST" else None)
    issued = None
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                token, raw = services.api_token_create(
                    user=request.user, name=form.cleaned_data["name"], lifetime_days=form.cleaned_data["lifetime_days"]
                )
            except ApplicationError as exc:
                form.add_error(exc.field if exc.field in form.fields else None, exc.message)
                status = 400
            else:
                issued = {"token": token, "raw": raw}
                form = ApiTokenForm()
        else:
            status = 400
    context = {
        "form": form,
        "issued": issued,
        "tokens": selectors.api_tokens_of(user=request.user),
        "now": timezone.now(),
    }
    return render(request, "api/tokens.html", context, status=status)


@require_POST
def token_revoke(request):
    form = ApiTokenRevokeForm(request.POST)
    if form.is_valid():
        try:
            services.api_token_revoke(user=request.user, token_id=form.cleaned_data["token"])
        except ApplicationError as exc:
            messages.error(request, exc.message)
        else:
            messages.success(request, _("Token revoked: it no longer opens the API."))
    return redirect("api:tokens")


class SchemaView(SpectacularAPIView):
    """The OpenAPI schema: for a signed-in user's browser (the docs page) or a token."""

    authentication_classes = [SessionAuthentication, TokenAuthentication]
    permission_classes = [IsAuthenticated]
    throttle_classes = [ApiUserThrottle]


class DocsView(SpectacularSwaggerSplitView):
    """Swagger UI from drf-spectacular-sidecar's files (no CDN); its start-up script is a separate file, so the
    page keeps the site's Content-Security-Policy (no inline script)."""

    authentication_classes = [SessionAuthentication]
    permission_classes = [IsAuthenticated]
    template_name = "api/docs.html"
    url_name = "api:schema"
    title = gettext_lazy("Service desk API")


def signed_in_or_token(view):
    """A page for a signed-in person (anonymous: sent to log in, as every page) that another system may also
    read with its token (the schema)."""
    page = login_required(view)

    @functools.wraps(view)
    def wrapped(request, *args, **kwargs):
        if "HTTP_AUTHORIZATION" in request.META:
            return view(request, *args, **kwargs)
        return page(request, *args, **kwargs)

    return wrapped
