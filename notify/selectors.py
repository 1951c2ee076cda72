"""Reads of the postal list, scoped to the user's unit (head office sees every unit's)."""

from django.db.models import QuerySet

from servicedesk.scoping import scope_to_user

from .models import PostalItem

POSTAL_LIMIT = 500


def postal_pending(*, user) -> QuerySet:
    if not user.has_perm("notify.view_postalitem"):
        return PostalItem.objects.none()
    return scope_to_user(PostalItem.objects.filter(posted_at__isnull=True), user=user)


def postal_list(*, user) -> list[PostalItem]:
    """The letters to print and post, oldest first, with the customer's mailing address (one query)."""
    return list(
        postal_pending(user=user).select_related("customer", "unit").order_by("created_at", "id")[:POSTAL_LIMIT]
    )
