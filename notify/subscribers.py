"""Notices that follow business events (``servicedesk.events``), written in the transaction of the change.

- complaint.filed: a serious one alerts every deputy GM at once (clause 二十六); every complaint tells the
  unit's supervisors to follow it up in person (clause 二十八).
- contract.notice_issued: the expiry notice reaches a customer without e-mail by SMS, or goes on the unit's
  postal list; a customer who asked for SMS, letters or nothing is not e-mailed it.
"""

from django.contrib.auth import get_user_model
from django.core.exceptions import ObjectDoesNotExist
from django.urls import reverse
from django.utils import timezone

from complaints.models import CustomerOpinion
from contracts.models import ExpiryNotice
from servicedesk import events
from servicedesk.models import Notification
from servicedesk.notifications import absolute_url, notifications_queue, render_notice
from servicedesk.roles import Role

from .models import PostalItem
from .routing import Channel, customer_channel
from .topics import CONTRACT_EXPIRY


def on_events(batch: list[events.Event]) -> None:
    complaints = [e.object_id for e in batch if e.name == events.COMPLAINT_FILED]
    notices = [e.object_id for e in batch if e.name == events.CONTRACT_NOTICE_ISSUED]
    if complaints:
        complaints_filed(opinion_ids=complaints)
    if notices:
        expiry_notices_issued(notice_ids=notices)


def active_users_with_role(*, role: str, unit_ids=None) -> list:
    users = get_user_model().objects.filter(is_active=True, groups__name=role)
    if unit_ids is not None:
        users = users.filter(unit_id__in=set(unit_ids))
    return list(users.order_by("pk"))


def _user_notice(*, key: str, user, template: str, context: dict) -> Notification:
    subject, body = render_notice(template=template, context=context)
    return Notification(dedupe_key=key, recipient=user, to_email=user.email, subject=subject, body=body)


def _opinion_context(opinion) -> dict:
    return {
        "opinion": opinion,
        "customer": opinion.customer,
        "unit": opinion.unit,
        "url": absolute_url(reverse("complaints:opinion_detail", args=[opinion.pk])),
    }


def complaints_filed(*, opinion_ids: list[int]) -> None:
    opinions = list(CustomerOpinion.objects.filter(pk__in=opinion_ids).select_related("customer", "unit"))
    complaints = [o for o in opinions if o.kind == CustomerOpinion.Kind.COMPLAINT]
    serious = [o for o in opinions if o.severity == CustomerOpinion.Severity.SERIOUS]
    notices = []
    if serious:
        deputies = active_users_with_role(role=Role.DEPUTY_GM)
        for opinion in serious:
            context = _opinion_context(opinion)
            notices += [
                _user_notice(
                    key=f"complaint-serious:{opinion.pk}:{user.pk}",
                    user=user,
                    template="notify/email/serious_complaint.txt",
                    context=context,
                )
                for user in deputies
            ]
    if complaints:
        supervisors: dict[int, list] = {}
        for user in active_users_with_role(role=Role.SUPERVISOR, unit_ids={o.unit_id for o in complaints}):
            supervisors.setdefault(user.unit_id, []).append(user)
        for opinion in complaints:
            context = _opinion_context(opinion)
            notices += [
                _user_notice(
                    key=f"complaint-follow-up:{opinion.pk}:{user.pk}",
                    user=user,
                    template="notify/email/complaint_follow_up.txt",
                    context=context,
                )
                for user in supervisors.get(opinion.unit_id, [])
            ]
    notifications_queue(notices=notices)


def _preference(customer):
    try:
        return customer.notice_preference
    except ObjectDoesNotExist:
        return None


def expiry_notices_issued(*, notice_ids: list[int]) -> None:
    # One query: the notices with their customers and the customers' preferences (a reverse one-to-one).
    notices = list(
        ExpiryNotice.objects.filter(pk__in=notice_ids).select_related(
            "term__contract__customer__notice_preference", "term__contract__unit"
        )
    )
    rows, letters, not_by_email = [], [], []
    now = timezone.now()
    for notice in notices:
        customer = notice.term.contract.customer
        channel, mobile = customer_channel(preference=_preference(customer), email=customer.email, phone=customer.phone)
        if channel != Channel.EMAIL and notice.email_to:
            not_by_email.append(notice.pk)
        if channel in (Channel.EMAIL, Channel.NONE):
            continue  # the notice's own outbox e-mails it with its PDF (contracts), or the customer wants nothing
        context = {"notice": notice, "term": notice.term, "contract": notice.term.contract, "customer": customer}
        subject, body = render_notice(template="notify/email/contract_expiry.txt", context=context)
        key = f"{CONTRACT_EXPIRY}:{notice.pk}"
        if channel == Channel.SMS:
            _subject, text = render_notice(template="notify/email/contract_expiry_sms.txt", context=context)
            rows.append(
                Notification(
                    dedupe_key=key, channel=Notification.Channel.SMS, to_phone=mobile, subject=subject, body=text
                )
            )
        else:
            letters.append(
                PostalItem(
                    dedupe_key=key,
                    unit_id=notice.unit_id,
                    customer=customer,
                    topic=CONTRACT_EXPIRY,
                    subject=subject,
                    body=body,
                    created_at=now,
                )
            )
    if not_by_email:
        # The customer's preference says no e-mail: the contracts' outbox sends only to a notice's address.
        ExpiryNotice.objects.filter(pk__in=not_by_email, emailed_at__isnull=True).update(email_to="")
    if letters:
        PostalItem.objects.bulk_create(letters, ignore_conflicts=True)
    notifications_queue(notices=rows)
