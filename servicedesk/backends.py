"""Authentication backend: Django's ModelBackend, with the lookups every page makes done in fewer queries."""

from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend
from django.contrib.auth.models import Group, Permission
from django.db.models import CharField, OuterRef, StringAgg, Subquery, Value
from django.db.models.functions import Concat

# Marks the user's group (role) names in the permissions query's result: no app label is empty.
_ROLE = ""
# Between the codes a subquery strings together (the ASCII unit separator: in no label, code or group name).
_SEP = "\x1f"


def _strung(queryset, expression) -> Subquery:
    """One text of ``expression`` over the rows of ``queryset`` (NULL when none), as a subquery of the user's row."""
    return Subquery(
        queryset.order_by()
        .annotate(one=Value(1))
        .values("one")
        .annotate(strung=StringAgg(expression, delimiter=Value(_SEP), output_field=CharField()))
        .values("strung")[:1],
        output_field=CharField(),
    )


def _codes(strung: str | None) -> set[str]:
    return set(strung.split(_SEP)) if strung else set()


class UnitModelBackend(ModelBackend):
    """Every page scopes by the user's unit and checks permissions: the unit, the user's own and group
    permissions and the user's roles (``User.role_codes``) come with the user, in the one query that reads
    the user for the request, instead of four."""

    def get_user(self, user_id):
        code = Concat("content_type__app_label", Value("."), "codename", output_field=CharField())
        try:
            user = (
                get_user_model()
                ._default_manager.select_related("unit")
                .annotate(
                    _own_perms=_strung(Permission.objects.filter(user=OuterRef("pk")), code),
                    _group_perms=_strung(Permission.objects.filter(group__user=OuterRef("pk")), code),
                    _role_names=_strung(Group.objects.filter(user=OuterRef("pk")), "name"),
                )
                .get(pk=user_id)
            )
        except get_user_model().DoesNotExist:
            return None
        if not self.user_can_authenticate(user):
            return None
        if not user.is_superuser:  # a superuser holds every permission: read in full when first asked
            user._perm_cache = _codes(user._own_perms) | _codes(user._group_perms)
        user.role_codes = frozenset(_codes(user._role_names))
        return user

    def get_all_permissions(self, user_obj, obj=None):
        if not user_obj.is_active or user_obj.is_anonymous or obj is not None:
            return set()
        if not hasattr(user_obj, "_perm_cache"):
            columns = ("content_type__app_label", "codename")
            roles = Group.objects.filter(user=user_obj).values_list(Value(_ROLE, output_field=CharField()), "name")
            if user_obj.is_superuser:
                perms = Permission.objects.values_list(*columns).order_by().union(roles.order_by(), all=True)
            else:  # a UNION, not an OR across both joins: each part uses its user_id index
                own = Permission.objects.filter(user=user_obj).values_list(*columns).order_by()
                perms = own.union(
                    Permission.objects.filter(group__user=user_obj).values_list(*columns).order_by(), roles.order_by()
                )
            found = list(perms.order_by())
            user_obj._perm_cache = {f"{app_label}.{codename}" for app_label, codename in found if app_label != _ROLE}
            if "role_codes" not in user_obj.__dict__:  # the cached_property, filled from the same query
                user_obj.role_codes = frozenset(name for app_label, name in found if app_label == _ROLE)
        return user_obj._perm_cache
