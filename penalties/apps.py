from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PenaltiesConfig(AppConfig):
    name = "penalties"
    verbose_name = _("Penalties")

    def ready(self):
        # The monthly appraisal (complaints, below penalties) shows each technician's approved deductions
        # (clause 六) through the look-up registered here, never by importing penalties.
        from complaints.appraisal import register_deductions_lookup

        from .selectors import deductions_by_person

        register_deductions_lookup(deductions_by_person)
