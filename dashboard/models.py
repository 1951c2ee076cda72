from django.db import models
from django.utils.translation import gettext_lazy as _


class Dashboard(models.Model):
    """The holder of the dashboard's permission; its table stays empty (the figures are computed from the calls).

    Managed, so that every model has a table (the security tests count every table's rows).
    """

    class Meta:
        default_permissions = ()
        permissions = [("view_dashboard", _("Can view the service dashboard"))]

    def __str__(self):
        return str(self._meta.verbose_name)
