"""What a notice is about (its topic), named by the prefix of its ``dedupe_key``.

Every service writes its notices with a key ``<topic>:<ids…>`` ("repair-call-overdue:12:3"), so the topic is
the key's leading segments up to the first one with a digit in it. The rules of who gets what on which channel
(``NoticeRule``, ``UserNoticeSetting``) are rows per topic; this table gives the topics a person can choose from.
"""

from django.utils.translation import gettext_lazy as _

# Notices to users (staff), by the topic their services write.
USER_TOPICS = {
    "repair-call-dispatched": _("A call assigned to me"),
    "repair-call-overdue": _("A call past its dispatch deadline"),
    "repair-card-late": _("A repair card escalated (past its promised time)"),
    "repair-card-delay-reported": _("A delay reported on a repair card"),
    "contract-renewal-follow-up": _("A contract renewal to follow up"),
    "complaint-serious": _("A serious complaint"),
    "complaint-follow-up": _("A complaint to follow up in person"),
    "complaints.reminder": _("A reminder slip"),
    "penalties:loss-final": _("A case loss made final"),
}

# Notices to customers.
PRODUCT_READY = "product-ready"
CONTRACT_EXPIRY = "contract-expiry"
CUSTOMER_TOPICS = {
    PRODUCT_READY: _("Your product is ready"),
    CONTRACT_EXPIRY: _("Maintenance contract expiry notice"),
}


def topic_of(dedupe_key: str) -> str:
    """The topic of a notice: the segments of its key before the first one that holds a digit."""
    segments = []
    for segment in dedupe_key.split(":"):
        if any(ch.isdigit() for ch in segment):
            break
        segments.append(segment)
    return ":".join(segments)


def topic_label(topic: str) -> str:
    return str(USER_TOPICS.get(topic) or CUSTOMER_TOPICS.get(topic) or _("Notice"))
