from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class DashboardConfig(AppConfig):
    name = "dashboard"
    verbose_name = _("Service dashboard")

    def ready(self):
        from .exports import register_exports

        register_exports()
