"""Signing in and out of the portal (no password: a link by e-mail or a code by SMS)."""

from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme, urlencode
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from complaints.ratelimit import allow
from servicedesk.client_address import client_address

from .. import signin
from ..forms import CodeForm, SignInForm
from ..principal import portal_public, portal_sign_in, portal_sign_out

PENDING_KEY = "portal_pending_code"
# Per address (IP) and window: a family behind one router asks a few times, a script many.
SENDS_PER_ADDRESS = 10
CHECKS_PER_ADDRESS = 20
WINDOW_SECONDS = 15 * 60


def _too_many(request):
    response = render(
        request,
        "portal/problem.html",
        {"title": _("Too many attempts"), "message": _("Please wait a few minutes and try again.")},
        status=429,
    )
    response["Retry-After"] = str(WINDOW_SECONDS)
    return response


def _next_url(request) -> str:
    """Where to go after signing in: a portal page the visitor asked for, else the portal's home."""
    target = request.POST.get("next") or request.GET.get("next") or ""
    home = reverse("portal:home")
    if (
        target.startswith(home)
        and url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}, require_https=False)
        and not target.startswith(reverse("portal:sign_in"))
    ):
        return target
    return home


@portal_public
@require_http_methods(["GET", "POST"])
def sign_in(request):
    form = SignInForm(request.POST or None)
    if request.method == "POST":
        if not allow(
            scope="portal-send-address",
            key=client_address(request),
            limit=SENDS_PER_ADDRESS,
            window_seconds=WINDOW_SECONDS,
        ):
            return _too_many(request)
        if form.is_valid():
            address = form.cleaned_data["address"]
            sent = signin.portal_sign_in_send(address=address)
            if signin.address_is_mobile(address):
                # The code page is shown whether or not the number is known: it tells nobody which are.
                request.session[PENDING_KEY] = sent.pk if sent is not None else None
                return redirect(f"{reverse('portal:sign_in_code')}?{urlencode({'next': _next_url(request)})}")
            return render(request, "portal/sign_in_sent.html", {"address": address})
    return render(
        request, "portal/sign_in.html", {"form": form, "next": _next_url(request)}, status=400 if form.errors else 200
    )


@portal_public
@require_http_methods(["GET", "POST"])
def sign_in_code(request):
    if PENDING_KEY not in request.session:
        return redirect("portal:sign_in")
    form = CodeForm(request.POST or None)
    if request.method == "POST":
        if not allow(
            scope="portal-check-address",
            key=client_address(request),
            limit=CHECKS_PER_ADDRESS,
            window_seconds=WINDOW_SECONDS,
        ):
            return _too_many(request)
        if form.is_valid():
            try:
                contact = signin.portal_sign_in_code_check(
                    request_id=request.session.get(PENDING_KEY), code=form.cleaned_data["code"]
                )
            except signin.SignInFailed as exc:
                form.add_error("code", exc.message)
            else:
                target = _next_url(request)
                portal_sign_in(request, contact)
                return redirect(target)
    status = 400 if form.errors else 200
    return render(request, "portal/sign_in_code.html", {"form": form, "next": _next_url(request)}, status=status)


@portal_public
@require_http_methods(["GET", "POST"])
def sign_in_link(request, token: str):
    """GET only shows a button: a mail scanner that opens every link must not use up the customer's."""
    if not allow(
        scope="portal-check-address",
        key=client_address(request),
        limit=CHECKS_PER_ADDRESS,
        window_seconds=WINDOW_SECONDS,
    ):
        return _too_many(request)
    if request.method == "POST":
        try:
            contact = signin.portal_sign_in_link_use(token=token)
        except signin.SignInFailed as exc:
            response = render(
                request,
                "portal/problem.html",
                {"title": _("This link does not work"), "message": exc.message},
                status=410,
            )
        else:
            portal_sign_in(request, contact)
            return redirect("portal:home")
    else:
        response = render(request, "portal/sign_in_link.html", {})
    response["X-Robots-Tag"] = "noindex, nofollow"
    return response


@portal_public
@require_POST
def sign_out(request):
    portal_sign_out(request)
    return redirect("portal:sign_in")
