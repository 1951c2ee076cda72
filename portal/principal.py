"""Who is signed in to the portal: a customer's contact person, never a staff user.

The portal session holds only the contact's id (``SESSION_KEY``); ``request.user`` stays anonymous, so
every staff page (``LoginRequiredMiddleware``) sends a customer to the staff login, and no staff
permission or unit applies. Every portal page is wrapped in ``portal_view``: it loads the contact (or sends
the visitor to the portal's sign-in) and hands the view a ``CustomerPrincipal``; every read goes through
``portal.selectors`` with that principal, which scopes it to the contact's customer.
"""

import functools
from dataclasses import dataclass

from django.conf import settings
from django.contrib.auth.decorators import login_not_required
from django.shortcuts import redirect
from django.urls import reverse
from django.utils import translation
from django.utils.http import urlencode
from django.views.decorators.cache import never_cache

from repairs.models import Customer, CustomerContact

SESSION_KEY = "portal_contact_id"


@dataclass(frozen=True)
class CustomerPrincipal:
    contact: CustomerContact

    @property
    def customer(self) -> Customer:
        return self.contact.customer

    @property
    def customer_id(self) -> int:
        return self.contact.customer_id


def portal_sign_in(request, contact: CustomerContact) -> None:
    """Start a fresh session for the contact (whatever the browser held before, a staff login included)."""
    language = request.session.get("_language")
    request.session.flush()
    request.session[SESSION_KEY] = contact.pk
    if language:
        request.session["_language"] = language


def portal_sign_out(request) -> None:
    request.session.flush()


def principal_for(request) -> CustomerPrincipal | None:
    contact_id = request.session.get(SESSION_KEY)
    if not isinstance(contact_id, int):
        return None
    # A contact whose access was withdrawn (or who was removed) is signed out at the next page.
    contact = CustomerContact.objects.filter(pk=contact_id, portal_access=True).select_related("customer__unit").first()
    return CustomerPrincipal(contact=contact) if contact is not None else None


def portal_language(view):
    """Chinese unless the visitor chose another language (the portal's customers are the company's)."""

    @functools.wraps(view)
    def wrapper(request, *args, **kwargs):
        if settings.LANGUAGE_COOKIE_NAME not in request.COOKIES:
            translation.activate(settings.LANGUAGE_CODE)
            request.LANGUAGE_CODE = translation.get_language()
        return view(request, *args, **kwargs)

    return wrapper


def portal_public(view):
    """A portal page before signing in (the sign-in pages): no staff login, not cached."""
    return login_not_required(never_cache(portal_language(view)))


def portal_view(view):
    """The one door to every signed-in portal page: the customer principal or the portal's sign-in."""

    @functools.wraps(view)
    def wrapper(request, *args, **kwargs):
        principal = principal_for(request)
        if principal is None:
            return redirect(f"{reverse('portal:sign_in')}?{urlencode({'next': request.get_full_path()})}")
        request.portal = principal
        return view(request, principal, *args, **kwargs)

    return portal_public(wrapper)
