"""Branch scoping, deny by default: every selector passes its queryset through here."""

from django.db.models import QuerySet


def scope_to_user(queryset: QuerySet, *, user, unit_field: str = "unit") -> QuerySet:
    """Rows of the user's own unit; every row for head office; nothing for anyone else.

    A user with no unit, an inactive user and an anonymous user see nothing.
    """
    unit_id = scope_unit_of(user)
    if unit_id is NOTHING:
        return queryset.none()
    return in_unit(queryset, unit_id, unit_field=unit_field)


def in_unit(queryset: QuerySet, unit_id: int | None, *, unit_field: str = "unit") -> QuerySet:
    """The rows of that unit, or every row for ``None`` (head office): what scope_to_user filters by, for a read
    given ``scope_unit_of(user)`` (servicedesk.prepared)."""
    return queryset if unit_id is None else queryset.filter(**{f"{unit_field}_id": unit_id})


NOTHING = object()  # scope_unit_of: the user sees no row


def scope_unit_of(user):
    """What scope_to_user filters by, for a read that filters itself (servicedesk.prepared): ``NOTHING``, ``None``
    (every unit: head office) or the user's unit's id."""
    if not (user and user.is_authenticated and user.is_active):
        return NOTHING
    if user.sees_all_units:
        return None
    if user.unit_id is None:
        return NOTHING
    return user.unit_id


def user_may_act_in_unit(*, user, unit_id: int) -> bool:
    if not (user and user.is_authenticated and user.is_active):
        return False
    return user.sees_all_units or (user.unit_id is not None and user.unit_id == unit_id)
