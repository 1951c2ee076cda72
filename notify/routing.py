"""Who gets what on which channel: the outbox routers registered with ``servicedesk.notifications``.

Each runs in the transaction of the service that writes the notices and adds no query per notice: one read of
the recipients' roles, one of the rules and one of the users' own settings for any batch; one of the
customers' preferences for a batch of customer notices. Every copy carries its own ``dedupe_key`` (the
original's with ``:sms`` or ``:inapp``), so a rerun writes nothing twice.
"""

from django.conf import settings
from django.contrib.auth.models import Group
from django.utils import translation

from servicedesk.exceptions import ApplicationError
from servicedesk.models import Notification
from servicedesk.notifications import CustomerNotice
from servicedesk.sms import sms_check_text, sms_phone

from .models import CustomerNoticePreference, NoticeRule, PostalItem, UserNoticeSetting
from .topics import topic_label, topic_of

Channel = CustomerNoticePreference.Channel


def _mobile(phone: str) -> str:
    try:
        return sms_phone(phone)
    except ApplicationError:
        return ""


def user_channels(*, user_ids, topics) -> dict[tuple[int, str], tuple[bool, bool]]:
    """(user id, topic) → (by e-mail, by SMS), from the users' own settings, else their roles' rules."""
    roles: dict[int, set[str]] = {}
    for user_id, role in Group.user_set.through.objects.filter(user_id__in=user_ids).values_list(
        "user_id", "group__name"
    ):
        roles.setdefault(user_id, set()).add(role)
    rules: dict[tuple[str, str], tuple[bool, bool]] = {
        (role, topic): (by_email, by_sms)
        for role, topic, by_email, by_sms in NoticeRule.objects.filter(topic__in=topics).values_list(
            "role", "topic", "by_email", "by_sms"
        )
    }
    own = {
        (user_id, topic): (by_email, by_sms)
        for user_id, topic, by_email, by_sms in UserNoticeSetting.objects.filter(
            user_id__in=user_ids, topic__in=topics
        ).values_list("user_id", "topic", "by_email", "by_sms")
    }
    result = {}
    for user_id in user_ids:
        for topic in topics:
            if (user_id, topic) in own:
                result[user_id, topic] = own[user_id, topic]
                continue
            given = [rules[role, topic] for role in roles.get(user_id, ()) if (role, topic) in rules]
            # No rule for any of the user's roles: by e-mail, as before notices had rules.
            result[user_id, topic] = (any(e for e, _s in given), any(s for _e, s in given)) if given else (True, False)
    return result


def route_user_notices(notices: list[Notification]) -> list[Notification]:
    """Every notice to a user also appears in the app; e-mail and SMS as the user's rules say.

    A notice to a user is one row the user reads under the bell whatever its channel (``inbox.inapp_notices``):
    kept as an e-mail when the rules give e-mail and the user has an address, made an in-app row otherwise.
    An SMS, where the rules give one and the user has a mobile, is a second row (its text is the subject line).
    """
    to_users = [n for n in notices if n.recipient_id is not None and n.channel == Notification.Channel.EMAIL]
    if not to_users:
        return notices
    topics = {topic_of(n.dedupe_key) for n in to_users}
    channels = user_channels(user_ids={n.recipient_id for n in to_users}, topics=topics)
    routed = []
    for notice in notices:
        if notice.recipient_id is None or notice.channel != Notification.Channel.EMAIL:
            routed.append(notice)
            continue
        topic = topic_of(notice.dedupe_key)
        by_email, by_sms = channels[notice.recipient_id, topic]
        if not (by_email and notice.to_email):
            notice.channel, notice.to_email = Notification.Channel.INAPP, ""
        routed.append(notice)
        mobile = _mobile(getattr(notice.recipient, "phone", "") or "")
        if by_sms and mobile:
            # A notice rendered at delivery has no subject yet: its topic instead.
            with translation.override(settings.LANGUAGE_CODE):
                text = notice.subject or topic_label(topic)
            routed.append(
                Notification(
                    dedupe_key=f"{notice.dedupe_key}:sms"[:200],
                    channel=Notification.Channel.SMS,
                    recipient=notice.recipient,
                    to_phone=mobile,
                    subject=text[:200],
                    body=text,
                    created_at=notice.created_at,
                )
            )
    return routed


def customer_channel(*, preference: CustomerNoticePreference | None, email: str, phone: str) -> tuple[str, str]:
    """(channel, mobile) a customer notice goes by: e-mail, SMS, post or none."""
    wanted = preference.channel if preference else Channel.AUTO
    mobile = _mobile((preference.mobile if preference and preference.mobile else "") or phone)
    if wanted == Channel.NONE:
        return Channel.NONE, ""
    if wanted == Channel.EMAIL and email:
        return Channel.EMAIL, ""
    if wanted == Channel.SMS and mobile:
        return Channel.SMS, mobile
    if wanted == Channel.POST:
        return Channel.POST, ""
    # Automatic, or the asked-for channel has no address: e-mail, else SMS, else a letter.
    if email:
        return Channel.EMAIL, ""
    if mobile:
        return Channel.SMS, mobile
    return Channel.POST, ""


def customer_preferences(customer_ids) -> dict[int, CustomerNoticePreference]:
    return {p.customer_id: p for p in CustomerNoticePreference.objects.filter(customer_id__in=set(customer_ids))}


def _sms_fits(text: str) -> bool:
    try:
        sms_check_text(text)
    except ApplicationError:
        return False
    return True


def route_customer_notices(notices: list[CustomerNotice]) -> list[Notification]:
    """E-mail or SMS rows to write; letters go on the unit's postal list (``PostalItem``), once each."""
    preferences = customer_preferences(n.customer_id for n in notices)
    rows, letters = [], []
    for notice in notices:
        channel, mobile = customer_channel(
            preference=preferences.get(notice.customer_id), email=notice.email, phone=notice.phone
        )
        if channel == Channel.SMS and not _sms_fits(notice.sms_text):
            channel = Channel.EMAIL if notice.email else Channel.POST  # too long for an SMS: never lost
        if channel == Channel.EMAIL:
            rows.append(
                Notification(
                    dedupe_key=notice.dedupe_key, to_email=notice.email, subject=notice.subject, body=notice.body
                )
            )
        elif channel == Channel.SMS:
            rows.append(
                Notification(
                    dedupe_key=notice.dedupe_key,
                    channel=Notification.Channel.SMS,
                    to_phone=mobile,
                    subject=notice.subject,
                    body=notice.sms_text,
                )
            )
        elif channel == Channel.POST:
            letters.append(
                PostalItem(
                    dedupe_key=notice.dedupe_key,
                    unit_id=notice.unit_id,
                    customer_id=notice.customer_id,
                    topic=notice.topic,
                    subject=notice.subject,
                    body=notice.body,
                )
            )
    if letters:
        PostalItem.objects.bulk_create(letters, ignore_conflicts=True)
    return rows
