"""Authentication backend: Django's ModelBackend, with the lookups every page makes done in fewer queries."""

from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend
from django.contrib.auth.models import Group, Permission
from django.db.models import CharField, Value

# Marks the user's group (role) names in the permissions query's result: no app label is empty.
_ROLE = ""


class UnitModelBackend(ModelBackend):
    """Every page scopes by the user's unit and checks permissions: the unit comes with the user, and
    the user's own and group permissions, and the user's roles (``User.role_codes``), come in one query
    instead of three."""

    def get_user(self, user_id):
        try:
            user = get_user_model()._default_manager.select_related("unit").get(pk=user_id)
        except get_user_model().DoesNotExist:
            return None
        return user if self.user_can_authenticate(user) else None

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
