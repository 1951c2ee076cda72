from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class WebhooksConfig(AppConfig):
    name = "webhooks"
    verbose_name = _("Webhooks")

    def ready(self):
        # The services below say what happened through servicedesk.events; webhooks listen here, so no lower
        # app ever imports this one.
        from django.db.models.signals import post_delete, post_save

        from servicedesk.events import event_subscribe

        from .models import WebhookSubscription
        from .services import subscriptions_changed, webhook_events_record

        event_subscribe(webhook_events_record)
        # The events' writer keeps the active subscriptions per process: a saved or deleted one replaces its token.
        post_save.connect(subscriptions_changed, sender=WebhookSubscription, dispatch_uid="webhook-subscriptions")
        post_delete.connect(subscriptions_changed, sender=WebhookSubscription, dispatch_uid="webhook-subscriptions")
