from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ComplaintsConfig(AppConfig):
    name = "complaints"
    verbose_name = _("Complaints")

    def ready(self):
        from django.db.models.signals import post_delete, post_save

        from . import notices  # noqa: F401  registers the notices the outbox renders when it sends them
        from .bulk import register_bulk_actions
        from .case_page_cache import kept_changed, watched_models
        from .exports import register_exports

        register_exports()
        register_bulk_actions()
        # What the case page keeps per process (complaints.case_page_cache): any save or deletion replaces its token.
        for model in watched_models():
            for signal in (post_save, post_delete):
                signal.connect(kept_changed, sender=model, dispatch_uid=f"case-page-kept-{model._meta.label_lower}")
