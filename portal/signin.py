"""Signing in to the customer portal without a password (DOMAIN 11): a one-time link or a 6-digit code.

The link is a value signed with Django's signing (``django.core.signing``, salted for this purpose, with
its timestamp checked against the link's lifetime) naming a ``SignInRequest`` and a random nonce; the code
is six random digits. Neither secret is stored: the row keeps a keyed hash (``salted_hmac``, SHA-256), so
a copy of the database signs nobody in. A row works once, before it expires; a code allows a few wrong
tries and is then dead. How many links and codes one contact or one address may ask for is counted in
the cache (``complaints.ratelimit``).

Both go out through the outbox (``servicedesk.notifications``) in the transaction that made the row.
"""

import datetime as dt
import secrets

from django.core import signing
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.crypto import constant_time_compare, salted_hmac
from django.utils.translation import gettext as _

from complaints.ratelimit import allow
from repairs.models import CustomerContact
from servicedesk.exceptions import ApplicationError
from servicedesk.models import Notification
from servicedesk.notifications import absolute_url, notifications_queue, render_notice
from servicedesk.sms import sms_check_text, sms_phone

from .models import SignInRequest

LINK_LIFETIME = dt.timedelta(minutes=15)
CODE_LIFETIME = dt.timedelta(minutes=10)
CODE_ATTEMPTS = 5  # wrong codes before the code is dead
CODE_DIGITS = 6
# Links and codes one contact may be sent per window: enough to ask again, too few to flood a phone.
SENDS_PER_CONTACT = 3
SEND_WINDOW_SECONDS = 15 * 60

LINK_SALT = "portal.sign-in-link"
HASH_SALT = "portal.sign-in-secret"


class SignInFailed(ApplicationError):
    """The link or code does not sign anybody in (the message never says which part was wrong)."""


def _hash(request_id: int, secret: str) -> str:
    return salted_hmac(HASH_SALT, f"{request_id}:{secret}", algorithm="sha256").hexdigest()


def contact_for_address(address: str) -> CustomerContact | None:
    """The contact who may sign in with this e-mail address or mobile number, or None."""
    address = (address or "").strip()
    contacts = CustomerContact.objects.filter(portal_access=True).select_related("customer")
    if "@" in address:
        return contacts.filter(email__iexact=address).first()
    try:
        mobile = sms_phone(address)
    except ApplicationError:
        return None
    return contacts.filter(mobile=mobile).first()


def address_is_mobile(address: str) -> bool:
    return "@" not in (address or "")


@transaction.atomic
def portal_sign_in_send(*, address: str, now: dt.datetime | None = None) -> SignInRequest | None:
    """Send a sign-in link (an e-mail address) or code (a mobile number) to the contact it belongs to.

    Returns the request, or None when nobody has that address or the contact was sent too many already:
    the page says the same either way, so it tells nobody which addresses are known.
    """
    now = now or timezone.now()
    contact = contact_for_address(address)
    if contact is None:
        return None
    if not allow(
        scope="portal-send-contact", key=str(contact.pk), limit=SENDS_PER_CONTACT, window_seconds=SEND_WINDOW_SECONDS
    ):
        return None
    if address_is_mobile(address):
        return _send_code(contact=contact, now=now)
    return _send_link(contact=contact, now=now)


def _send_link(*, contact: CustomerContact, now: dt.datetime) -> SignInRequest:
    nonce = secrets.token_urlsafe(16)
    request = SignInRequest.objects.create(
        contact=contact, method=SignInRequest.Method.LINK, created_at=now, expires_at=now + LINK_LIFETIME
    )
    request.secret_hash = _hash(request.pk, nonce)
    request.save(update_fields=["secret_hash"])
    token = signing.dumps({"r": request.pk, "n": nonce}, salt=LINK_SALT)
    subject, body = render_notice(
        template="portal/email/sign_in_link.txt",
        context={
            "contact": contact,
            "url": absolute_url(reverse("portal:sign_in_link", args=[token])),
            "minutes": int(LINK_LIFETIME.total_seconds() // 60),
        },
    )
    notifications_queue(
        notices=[
            Notification(
                channel=Notification.Channel.EMAIL,
                dedupe_key=f"portal-sign-in:{request.pk}",
                to_email=contact.email,
                subject=subject,
                body=body,
                created_at=now,
            )
        ]
    )
    return request


def _send_code(*, contact: CustomerContact, now: dt.datetime) -> SignInRequest:
    code = f"{secrets.randbelow(10**CODE_DIGITS):0{CODE_DIGITS}d}"
    request = SignInRequest.objects.create(
        contact=contact, method=SignInRequest.Method.CODE, created_at=now, expires_at=now + CODE_LIFETIME
    )
    request.secret_hash = _hash(request.pk, code)
    request.save(update_fields=["secret_hash"])
    _subject, text = render_notice(
        template="portal/sms/sign_in_code.txt",
        context={"code": code, "minutes": int(CODE_LIFETIME.total_seconds() // 60)},
    )
    notifications_queue(
        notices=[
            Notification(
                channel=Notification.Channel.SMS,
                dedupe_key=f"portal-sign-in:{request.pk}",
                to_phone=contact.mobile,
                body=sms_check_text(text),
                created_at=now,
            )
        ]
    )
    return request


def _usable(request: SignInRequest | None, *, now: dt.datetime) -> bool:
    return (
        request is not None
        and request.used_at is None
        and request.expires_at > now
        and request.contact.portal_access
        and request.attempts < CODE_ATTEMPTS
    )


def portal_sign_in_link_use(*, token: str, now: dt.datetime | None = None) -> CustomerContact:
    """The contact a sign-in link signs in, once; SignInFailed when it is forged, expired or used."""
    now = now or timezone.now()
    failed = SignInFailed(_("This sign-in link has expired or has already been used. Ask for a new one."))
    try:
        payload = signing.loads(token, salt=LINK_SALT, max_age=LINK_LIFETIME)
        request_id, nonce = int(payload["r"]), str(payload["n"])
    except (signing.BadSignature, KeyError, TypeError, ValueError):
        raise failed from None
    with transaction.atomic():
        request = (
            SignInRequest.objects.select_for_update(of=("self",))
            .select_related("contact__customer")
            .filter(pk=request_id, method=SignInRequest.Method.LINK)
            .first()
        )
        if not _usable(request, now=now) or not constant_time_compare(request.secret_hash, _hash(request_id, nonce)):
            raise failed
        request.used_at = now
        request.save(update_fields=["used_at"])
    return request.contact


def portal_sign_in_code_check(*, request_id: int | None, code: str, now: dt.datetime | None = None) -> CustomerContact:
    """The contact a code signs in, once; a wrong code counts against the code's few tries."""
    now = now or timezone.now()
    code = "".join((code or "").split())
    with transaction.atomic():
        request = (
            SignInRequest.objects.select_for_update(of=("self",))
            .select_related("contact__customer")
            .filter(pk=request_id or 0, method=SignInRequest.Method.CODE)
            .first()
        )
        matched = False
        if _usable(request, now=now):
            matched = constant_time_compare(request.secret_hash, _hash(request.pk, code))
            if matched:
                request.used_at = now
                request.save(update_fields=["used_at"])
            else:
                # Counted in its own committed write, so the failure below cannot roll the count back.
                request.attempts += 1
                request.save(update_fields=["attempts"])
    if not matched:
        raise SignInFailed(_("This code is wrong or has expired. Check the SMS, or ask for a new code."))
    return request.contact
