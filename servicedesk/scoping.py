"""Branch scoping, deny by default: every selector passes its queryset through here."""

from django.db.models import QuerySet


def scope_to_user(queryset: QuerySet, *, user, unit_field: str = "unit") -> QuerySet:
    """Rows of the user's own unit; every row for head office; nothing for anyone else.

    A user with no unit, an inactive user and an anonymous user see nothing.
    """
    if not (user and user.is_authenticated and user.is_active):
        return queryset.none()
    if user.sees_all_units:
        return queryset
    if user.unit_id is None:
        return queryset.none()
    return queryset.filter(**{f"{unit_field}_id": user.unit_id})


def user_may_act_in_unit(*, user, unit_id: int) -> bool:
    if not (user and user.is_authenticated and user.is_active):
        return False
    return user.sees_all_units or (user.unit_id is not None and user.unit_id == unit_id)
