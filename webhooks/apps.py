from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class WebhooksConfig(AppConfig):
    name = "webhooks"
    verbose_name = _("Webhooks")

    def ready(self):
        # The services below say what happened through servicedesk.events; webhooks listen here, so no lower
        # app ever imports this one.
        from servicedesk.events import event_subscribe

        from .services import webhook_events_record

        event_subscribe(webhook_events_record)
