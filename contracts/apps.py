from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ContractsConfig(AppConfig):
    name = "contracts"
    verbose_name = _("Contracts")

    def ready(self):
        # repairs decides paid or free (DOMAIN 2) and sits below contracts: it asks for contract cover through
        # the look-up registered here, never by importing contracts.
        from repairs.services.coverage import register_contract_cover

        from .selectors import contract_cover_condition, contract_cover_of, contract_covering

        register_contract_cover(contract_covering, condition=contract_cover_condition, covered_ids=contract_cover_of)

        from .bulk import register_bulk_actions
        from .exports import register_exports

        register_exports()
        register_bulk_actions()
        # parts imports its catalogue through the same hardened CSV/.xlsx reader (servicedesk/tables.py).
        from servicedesk.tables import register_table_reader

        from .services.imports import read_table

        register_table_reader(read_table)
