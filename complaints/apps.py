from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ComplaintsConfig(AppConfig):
    name = "complaints"
    verbose_name = _("Complaints")

    def ready(self):
        from . import notices  # noqa: F401  registers the notices the outbox renders when it sends them
        from .bulk import register_bulk_actions
        from .exports import register_exports

        register_exports()
        register_bulk_actions()
