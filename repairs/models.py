"""Customers, sites, products, zones and repair calls (DOMAIN section 1)."""

import datetime as dt
from decimal import Decimal

from django.conf import settings
from django.core.validators import MinValueValidator, RegexValidator
from django.db import models
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

phone_validator = RegexValidator(
    r"^\+?[0-9][0-9 ()\-]{5,30}$",
    _("Enter a phone number: digits, spaces, dashes or brackets, optionally starting with +."),
)


class Zone(models.Model):
    """Clause 十九: the dispatch deadline depends on the site's zone (urban 6 h, suburban 7 h)."""

    code = models.SlugField(_("code"), max_length=32, unique=True)
    name = models.CharField(_("name"), max_length=100)
    response_hours = models.DecimalField(
        _("response hours"),
        max_digits=5,
        decimal_places=2,
        validators=[MinValueValidator(Decimal("0.25"))],
        help_text=_("Hours from the repair call until a technician must be on site."),
    )
    calendar = models.ForeignKey(
        "servicedesk.WorkingCalendar",
        verbose_name=_("working calendar"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        help_text=_("Leave empty to count wall-clock hours; choose a calendar to count business hours only."),
    )
    at_risk_minutes = models.PositiveIntegerField(
        _("at-risk warning (minutes)"),
        default=60,
        help_text=_("Calls this close to their deadline are highlighted on the dispatch board."),
    )
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("zone")
        verbose_name_plural = _("zones")
        ordering = ["response_hours", "name"]

    def __str__(self):
        return self.name

    @property
    def at_risk_window(self) -> dt.timedelta:
        return dt.timedelta(minutes=self.at_risk_minutes)


class Customer(models.Model):
    unit = models.ForeignKey(
        "servicedesk.OrgUnit", verbose_name=_("unit"), on_delete=models.PROTECT, related_name="customers"
    )
    name = models.CharField(_("name"), max_length=200)
    phone = models.CharField(_("phone"), max_length=32, validators=[phone_validator])
    email = models.EmailField(_("e-mail"), blank=True)
    address = models.CharField(_("mailing address"), max_length=300, blank=True)
    created_at = models.DateTimeField(_("created"), default=timezone.now)

    class Meta:
        verbose_name = _("customer")
        verbose_name_plural = _("customers")
        ordering = ["name"]
        indexes = [
            models.Index(fields=["unit", "name"], name="customer_unit_name_idx"),
            models.Index(fields=["phone"], name="customer_phone_idx"),
        ]

    def __str__(self):
        return self.name


class Site(models.Model):
    customer = models.ForeignKey(Customer, verbose_name=_("customer"), on_delete=models.CASCADE, related_name="sites")
    address = models.CharField(_("site address"), max_length=300)
    zone = models.ForeignKey(Zone, verbose_name=_("zone"), on_delete=models.PROTECT, related_name="sites")

    class Meta:
        verbose_name = _("site")
        verbose_name_plural = _("sites")
        ordering = ["address"]

    def __str__(self):
        return f"{self.address} ({self.zone})"


class Product(models.Model):
    customer = models.ForeignKey(
        Customer, verbose_name=_("customer"), on_delete=models.CASCADE, related_name="products"
    )
    site = models.ForeignKey(
        Site, verbose_name=_("site"), null=True, blank=True, on_delete=models.SET_NULL, related_name="products"
    )
    model = models.CharField(_("model"), max_length=100)
    serial_number = models.CharField(_("serial number"), max_length=64, unique=True)
    warranty_end = models.DateField(_("warranty ends"), null=True, blank=True)

    class Meta:
        verbose_name = _("product")
        verbose_name_plural = _("products")
        ordering = ["model", "serial_number"]

    def __str__(self):
        return f"{self.model} #{self.serial_number}"

    def in_warranty_on(self, day: dt.date) -> bool:
        return self.warranty_end is not None and day <= self.warranty_end


class RepairCall(models.Model):
    class Status(models.TextChoices):
        LOGGED = "logged", _("Logged")
        DISPATCHED = "dispatched", _("Dispatched")
        ON_SITE = "on_site", _("On site")
        RESOLVED = "resolved", _("Resolved on site")
        CARRIED_IN = "carried_in", _("Carried in")
        CLOSED = "closed", _("Closed")
        CANCELLED = "cancelled", _("Cancelled")

    class Channel(models.TextChoices):
        PHONE = "phone", _("Phone")
        WRITTEN = "written", _("In writing")
        WALK_IN = "walk_in", _("Walk-in")
        EMAIL = "email", _("E-mail")

    class Coverage(models.TextChoices):
        WARRANTY = "warranty", _("In warranty")
        CONTRACT = "contract", _("Maintenance contract")
        PAID = "paid", _("Paid service")
        UNKNOWN = "unknown", _("To be checked")

    # The dispatch deadline is met on arrival: these statuses are still waiting for it.
    AWAITING_ARRIVAL = (Status.LOGGED, Status.DISPATCHED)
    OPEN = (Status.LOGGED, Status.DISPATCHED, Status.ON_SITE)
    # Reassignment is DISPATCHED → DISPATCHED, recorded with its reason.
    TRANSITIONS = {
        Status.LOGGED: (Status.DISPATCHED, Status.CANCELLED),
        Status.DISPATCHED: (Status.DISPATCHED, Status.ON_SITE, Status.CANCELLED),
        Status.ON_SITE: (Status.RESOLVED, Status.CARRIED_IN),
        Status.RESOLVED: (Status.CLOSED,),
        Status.CARRIED_IN: (Status.CLOSED,),
        Status.CLOSED: (),
        Status.CANCELLED: (),
    }

    number = models.CharField(_("call number"), max_length=32, unique=True)
    unit = models.ForeignKey(
        "servicedesk.OrgUnit", verbose_name=_("unit"), on_delete=models.PROTECT, related_name="repair_calls"
    )
    customer = models.ForeignKey(Customer, verbose_name=_("customer"), on_delete=models.PROTECT, related_name="calls")
    site = models.ForeignKey(Site, verbose_name=_("site"), on_delete=models.PROTECT, related_name="calls")
    product = models.ForeignKey(
        Product, verbose_name=_("product"), null=True, blank=True, on_delete=models.PROTECT, related_name="calls"
    )
    contact_name = models.CharField(_("contact"), max_length=100)
    contact_phone = models.CharField(_("contact phone"), max_length=32, validators=[phone_validator])
    channel = models.CharField(_("channel"), max_length=16, choices=Channel.choices, default=Channel.PHONE)
    coverage = models.CharField(_("cover"), max_length=16, choices=Coverage.choices, default=Coverage.UNKNOWN)
    problem = models.TextField(_("problem"), max_length=2000)
    received_at = models.DateTimeField(_("call received"))
    zone = models.ForeignKey(Zone, verbose_name=_("zone"), on_delete=models.PROTECT, related_name="+")
    attend_by = models.DateTimeField(_("attend by"))
    status = models.CharField(_("status"), max_length=16, choices=Status.choices, default=Status.LOGGED)
    technician = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("technician"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="assigned_calls",
    )
    dispatched_at = models.DateTimeField(_("dispatched"), null=True, blank=True)
    arrived_at = models.DateTimeField(_("arrived on site"), null=True, blank=True)
    resolved_at = models.DateTimeField(_("resolved"), null=True, blank=True)
    closed_at = models.DateTimeField(_("closed"), null=True, blank=True)
    outcome = models.TextField(_("outcome"), blank=True)
    cancel_reason = models.TextField(_("cancellation reason"), blank=True)
    # Set once by the overdue check, in the same statement that claims the call.
    overdue_marked_at = models.DateTimeField(_("marked overdue"), null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("logged by"), on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    updated_at = models.DateTimeField(_("updated"), default=timezone.now)
    # Optimistic concurrency: a form carries the version it showed.
    version = models.PositiveIntegerField(default=1)

    class Meta:
        verbose_name = _("repair call")
        verbose_name_plural = _("repair calls")
        ordering = ["attend_by", "id"]
        permissions = [
            ("log_call", _("Can log repair calls")),
            ("dispatch_call", _("Can dispatch and reassign technicians")),
            ("attend_call", _("Can record arrival and outcome on site")),
            ("cancel_call", _("Can cancel repair calls")),
            ("close_call", _("Can close repair calls")),
        ]
        indexes = [
            # The dispatch board: a unit's open calls by deadline (keyset pagination).
            models.Index(
                fields=["unit", "attend_by", "id"],
                name="call_board_idx",
                condition=models.Q(status__in=["logged", "dispatched", "on_site"]),
            ),
            # The overdue check reads only calls that are late and not yet marked.
            models.Index(
                fields=["attend_by"],
                name="call_overdue_due_idx",
                condition=models.Q(status__in=["logged", "dispatched"], overdue_marked_at__isnull=True),
            ),
            models.Index(fields=["technician", "status"], name="call_technician_idx"),
            models.Index(fields=["unit", "received_at"], name="call_unit_received_idx"),
            models.Index(fields=["contact_phone"], name="call_contact_phone_idx"),
        ]

    def __str__(self):
        return self.number

    def get_absolute_url(self):
        return reverse("repairs:call_detail", args=[self.pk])

    @property
    def is_awaiting_arrival(self) -> bool:
        return self.status in self.AWAITING_ARRIVAL

    @property
    def attended_in_time(self) -> bool | None:
        if self.arrived_at is None:
            return None
        return self.arrived_at <= self.attend_by
