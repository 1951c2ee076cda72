from django.apps import AppConfig
from django.db.models.signals import post_migrate
from django.utils.translation import gettext_lazy as _


class ServicedeskConfig(AppConfig):
    name = "servicedesk"
    verbose_name = _("Service desk core")

    def ready(self):
        from django.contrib.auth import get_user_model
        from django.contrib.auth.models import Group, Permission
        from django.contrib.contenttypes.models import ContentType
        from django.db.backends.signals import connection_created
        from django.db.models.signals import m2m_changed, post_delete, post_save

        from .backends import membership_changed, permissions_changed, user_changed
        from .db import read_unreadable_dates_as_bounds
        from .forms import bound_admin_forms
        from .roles import sync_role_groups

        bound_admin_forms()
        # The permissions kept for each user (servicedesk.backends): what changes them drops them.
        user_model = get_user_model()
        for through in (user_model.groups.through, user_model.user_permissions.through, Group.permissions.through):
            m2m_changed.connect(membership_changed, sender=through, dispatch_uid=f"sd.perms.{through.__name__}")
        for model in (Group, Permission, ContentType):
            post_save.connect(permissions_changed, sender=model, dispatch_uid=f"sd.perms.save.{model.__name__}")
            post_delete.connect(permissions_changed, sender=model, dispatch_uid=f"sd.perms.del.{model.__name__}")
        post_save.connect(user_changed, sender=user_model, dispatch_uid="sd.perms.user_saved")
        post_delete.connect(user_changed, sender=user_model, dispatch_uid="sd.perms.user_deleted")
        post_migrate.connect(permissions_changed, dispatch_uid="sd.perms.migrate")
        connection_created.connect(read_unreadable_dates_as_bounds, dispatch_uid="servicedesk.unreadable_dates")

        # Groups need the permissions that only exist after every app migrated.
        post_migrate.connect(sync_role_groups, dispatch_uid="servicedesk.sync_role_groups")
