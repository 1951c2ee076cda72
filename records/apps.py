from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class RecordsConfig(AppConfig):
    name = "records"
    verbose_name = _("Records")

    def ready(self):
        # The board (repairs) sits below records: it shows the saved-view picker and links to the customer and
        # product records through the hooks registered here, never by importing records.
        from servicedesk.extensions import register_page_default, register_record_link, register_toolbar

        from .bulk import register_bulk_actions
        from .exports import register_exports
        from .links import customer_url, product_url
        from .views import board_default, board_toolbar

        register_toolbar("board", board_toolbar)
        register_page_default("board", board_default)
        register_record_link("customer", customer_url)
        register_record_link("product", product_url)
        register_exports()
        register_bulk_actions()
