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


class ServiceMonth(models.Model):
    """One unit, zone and local month of the dashboard's figures, as the live computation gave them.

    Written by the periodic job (``dashboard.services.service_months_record``) so that a head-office view of
    twelve months reads a few hundred stored rows instead of half a million calls (issue 13), as
    ``complaints.TechnicianMonth`` does for the appraisal. Counts and the per-row medians and averages exactly
    as ``dashboard.selectors`` computes them; months and units add up from the counts.
    """

    unit = models.ForeignKey("servicedesk.OrgUnit", verbose_name=_("unit"), on_delete=models.CASCADE, related_name="+")
    zone = models.ForeignKey(
        "repairs.Zone", verbose_name=_("zone"), on_delete=models.CASCADE, related_name="+", db_index=False
    )
    month = models.DateField(_("month"))
    received = models.PositiveIntegerField(default=0)
    on_time = models.PositiveIntegerField(default=0)
    late = models.PositiveIntegerField(default=0)
    arrivals_typed = models.PositiveIntegerField(default=0)
    logged_late = models.PositiveIntegerField(default=0)
    open_past_deadline = models.PositiveIntegerField(default=0)
    resolved = models.PositiveIntegerField(default=0)
    first_visit_fixes = models.PositiveIntegerField(default=0)
    repeat_repairs = models.PositiveIntegerField(default=0)
    median_attend = models.DurationField(null=True)
    p90_attend = models.DurationField(null=True)
    carry_ins_returned = models.PositiveIntegerField(default=0)
    carry_in_turnaround = models.DurationField(null=True)
    fees_collected = models.DecimalField(max_digits=14, decimal_places=2, default=0)
    cards_issued = models.PositiveIntegerField(default=0)
    cards_answered = models.PositiveIntegerField(default=0)
    rating_attitude = models.FloatField(null=True)
    rating_technique = models.FloatField(null=True)
    rating_arrival = models.FloatField(null=True)
    rating_follow_through = models.FloatField(null=True)

    class Meta:
        verbose_name = _("service month")
        verbose_name_plural = _("service months")
        default_permissions = ()
        constraints = [
            models.UniqueConstraint(fields=["month", "unit", "zone"], name="one_service_month_row"),
        ]

    def __str__(self):
        return f"{self.month:%Y-%m} {self.unit_id} {self.zone_id}"


class RecordedMonth(models.Model):
    """A month whose ``ServiceMonth`` rows the job has written, and when: the dashboard reads those months from
    the stored rows (a month with no calls in a unit has no rows, so the rows alone cannot say it was done).
    The job locks this row while it rewrites the month, so two runs at once write it one after the other."""

    month = models.DateField(_("month"), unique=True)
    computed_at = models.DateTimeField(_("computed"))

    class Meta:
        verbose_name = _("recorded service month")
        verbose_name_plural = _("recorded service months")
        default_permissions = ()

    def __str__(self):
        return f"{self.month:%Y-%m}"
