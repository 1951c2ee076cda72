from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class NotifyConfig(AppConfig):
    name = "notify"
    verbose_name = _("Notices and inboxes")

    def ready(self):
        # The lower apps write notices without knowing who decides the channels: notify routes them here
        # (servicedesk.notifications), listens to the business events, and puts each role's work on its home.
        from servicedesk import events, extensions, notifications

        from . import inbox, routing, subscribers

        notifications.register_outbox_router(routing.route_user_notices)
        notifications.register_customer_router(routing.route_customer_notices)
        events.event_subscribe(subscribers.on_events)
        extensions.register_page_default("home", inbox.home_for)
        extensions.register_toolbar("navbar", inbox.navbar_html)
