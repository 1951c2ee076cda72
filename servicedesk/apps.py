from django.apps import AppConfig
from django.db.models.signals import post_migrate
from django.utils.translation import gettext_lazy as _


class ServicedeskConfig(AppConfig):
    name = "servicedesk"
    verbose_name = _("Service desk core")

    def ready(self):
        from django.db.backends.signals import connection_created

        from .db import read_unreadable_dates_as_bounds
        from .forms import bound_admin_forms
        from .roles import sync_role_groups

        bound_admin_forms()
        connection_created.connect(read_unreadable_dates_as_bounds, dispatch_uid="servicedesk.unreadable_dates")

        # Groups need the permissions that only exist after every app migrated.
        post_migrate.connect(sync_role_groups, dispatch_uid="servicedesk.sync_role_groups")
