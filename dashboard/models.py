from django.db import models
from django.utils.translation import gettext_lazy as _


class Dashboard(models.Model):
    """No table: the holder of the dashboard's permission (the figures are computed from the calls)."""

    class Meta:
        managed = False
        default_permissions = ()
        permissions = [("view_dashboard", _("Can view the service dashboard"))]

    def __str__(self):
        return str(self._meta.verbose_name)
