"""Reads of inbound e-mail, scoped to the user's unit (deny by default; a message of no unit: head office)."""

from django.db.models import Count, Q, QuerySet
from django.http import Http404

from servicedesk.scoping import scope_to_user

from .models import InboundAttachment, InboundMessage

LIST_LIMIT = 200


def inbound_message_queryset(*, user) -> QuerySet:
    return scope_to_user(InboundMessage.objects.all(), user=user)


def _listed(qs: QuerySet) -> list[InboundMessage]:
    # One query however many rows: the unit and customer joined, the attachments counted.
    return list(
        qs.select_related("unit", "customer")
        .defer("raw", "body")
        .annotate(
            attachment_count=Count("attachments"),
            refused_count=Count("attachments", filter=~Q(attachments__refused_reason="")),
        )
        .order_by("-received_at", "-id")[:LIST_LIMIT]
    )


def inbound_messages_to_match(*, user) -> list[InboundMessage]:
    return _listed(inbound_message_queryset(user=user).filter(status=InboundMessage.Status.TO_MATCH))


def inbound_messages_quarantined(*, user) -> list[InboundMessage]:
    return _listed(inbound_message_queryset(user=user).filter(status=InboundMessage.Status.QUARANTINED))


def inbound_message_get_for_user(*, user, pk: int) -> InboundMessage:
    try:
        return (
            inbound_message_queryset(user=user)
            .defer("raw")
            .select_related("unit", "customer", "call", "case", "matched_by")
            .get(pk=pk)
        )
    except InboundMessage.DoesNotExist:
        raise Http404 from None


def inbound_attachments_of(*, message: InboundMessage) -> list[InboundAttachment]:
    return list(message.attachments.order_by("id"))


def inbound_attachment_get_for_user(*, user, pk: int) -> InboundAttachment:
    try:
        return (
            InboundAttachment.objects.filter(message__in=inbound_message_queryset(user=user), stored_name__isnull=False)
            .select_related("message")
            .get(pk=pk)
        )
    except InboundAttachment.DoesNotExist:
        raise Http404 from None
