"""Customers, sites, products, zones and repair calls (DOMAIN section 1)."""

import base64
import datetime as dt
from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MinValueValidator, RegexValidator
from django.db import models
from django.db.models.functions import Lower, Upper
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from servicedesk.exceptions import ApplicationError
from servicedesk.models import NamedInLanguages, name_en_field
from servicedesk.sms import sms_phone

phone_validator = RegexValidator(
    r"^\+?[0-9][0-9 ()\-]{5,30}$",
    _("Enter a phone number: digits, spaces, dashes or brackets, optionally starting with +."),
)


class Zone(NamedInLanguages, models.Model):
    """Clause 十九: the dispatch deadline depends on the site's zone (urban 6 h, suburban 7 h)."""

    code = models.SlugField(_("code"), max_length=32, unique=True)
    name = models.CharField(_("name"), max_length=100)
    name_en = name_en_field()
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
        return self.label

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
            # Inbound e-mail (intake) finds the customer by the sender's address, whatever its case.
            models.Index(Upper("email"), name="customer_email_upper_idx"),
        ]

    def __str__(self):
        return self.name


class CustomerContact(models.Model):
    """A contact person of a customer: who may sign in to the customer portal (DOMAIN 11).

    The portal finds a contact by e-mail or by mobile number, so each is held by one contact at most; the
    mobile is kept as the 11 digits an SMS goes to (``servicedesk.sms.sms_phone``).
    """

    customer = models.ForeignKey(
        Customer, verbose_name=_("customer"), on_delete=models.CASCADE, related_name="contacts"
    )
    name = models.CharField(_("name"), max_length=100)
    email = models.EmailField(_("e-mail"), blank=True)
    mobile = models.CharField(_("mobile phone"), max_length=32, blank=True, validators=[phone_validator])
    portal_access = models.BooleanField(_("may use the customer portal"), default=True)
    created_at = models.DateTimeField(_("created"), default=timezone.now)

    class Meta:
        verbose_name = _("contact person")
        verbose_name_plural = _("contact persons")
        ordering = ["name", "id"]
        constraints = [
            models.UniqueConstraint(Lower("email"), name="contact_email_unique", condition=~models.Q(email="")),
            models.UniqueConstraint(fields=["mobile"], name="contact_mobile_unique", condition=~models.Q(mobile="")),
        ]
        indexes = [models.Index(fields=["customer"], name="contact_customer_idx")]

    def __str__(self):
        return self.name

    def clean(self):
        if self.mobile:
            try:
                self.mobile = sms_phone(self.mobile)
            except ApplicationError as exc:
                raise ValidationError({"mobile": exc.message}) from None
        self.email = self.email.strip().lower()


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
        WAITING_PARTS = "waiting_parts", _("Waiting for parts")
        REVISIT = "revisit", _("To revisit")
        RESOLVED = "resolved", _("Resolved on site")
        CARRIED_IN = "carried_in", _("Carried in")
        CLOSED = "closed", _("Closed")
        CANCELLED = "cancelled", _("Cancelled")

    class Channel(models.TextChoices):
        PHONE = "phone", _("Phone")
        WRITTEN = "written", _("In writing")
        WALK_IN = "walk_in", _("Walk-in")
        EMAIL = "email", _("E-mail")
        PLANNED = "planned", _("Planned maintenance")
        PORTAL = "portal", _("Customer portal")

    class Coverage(models.TextChoices):
        WARRANTY = "warranty", _("In warranty")
        CONTRACT = "contract", _("Maintenance contract")
        PAID = "paid", _("Paid service")
        UNKNOWN = "unknown", _("To be checked")

    # The dispatch deadline is met on arrival: these statuses are still waiting for it.
    AWAITING_ARRIVAL = (Status.LOGGED, Status.DISPATCHED)
    # A visit that could not finish leaves the call waiting for its next visit (planned work on the board).
    BETWEEN_VISITS = (Status.WAITING_PARTS, Status.REVISIT)
    OPEN = (Status.LOGGED, Status.DISPATCHED, Status.ON_SITE, Status.WAITING_PARTS, Status.REVISIT)
    # Calls on the board's planned part when they carry an appointment (revisits, planned maintenance).
    PLANNABLE = (Status.LOGGED, Status.DISPATCHED, Status.WAITING_PARTS, Status.REVISIT)
    # Reassignment is DISPATCHED → DISPATCHED, recorded with its reason; re-planning a revisit is REVISIT → REVISIT.
    # A next visit's arrival is WAITING_PARTS/REVISIT → ON_SITE: it never touches the clause 十九 deadline.
    TRANSITIONS = {
        Status.LOGGED: (Status.DISPATCHED, Status.CANCELLED),
        Status.DISPATCHED: (Status.DISPATCHED, Status.ON_SITE, Status.CANCELLED),
        Status.ON_SITE: (Status.RESOLVED, Status.CARRIED_IN, Status.WAITING_PARTS, Status.REVISIT),
        Status.WAITING_PARTS: (Status.REVISIT, Status.ON_SITE, Status.CANCELLED),
        Status.REVISIT: (Status.REVISIT, Status.ON_SITE, Status.CANCELLED),
        Status.RESOLVED: (Status.CLOSED,),
        Status.CARRIED_IN: (Status.CLOSED,),
        Status.CLOSED: (),
        Status.CANCELLED: (),
    }

    number = models.CharField(_("call number"), max_length=32, unique=True)
    # Foreign keys that the composite indexes below already lead with, or that nothing
    # looks calls up by, get no index of their own: every index on this table is paid
    # again by each status change and by the overdue check's marking.
    unit = models.ForeignKey(
        "servicedesk.OrgUnit",
        verbose_name=_("unit"),
        on_delete=models.PROTECT,
        related_name="repair_calls",
        db_index=False,
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
    zone = models.ForeignKey(Zone, verbose_name=_("zone"), on_delete=models.PROTECT, related_name="+", db_index=False)
    attend_by = models.DateTimeField(_("attend by"))
    status = models.CharField(_("status"), max_length=16, choices=Status.choices, default=Status.LOGGED)
    technician = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("technician"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="assigned_calls",
        db_index=False,
    )
    dispatched_at = models.DateTimeField(_("dispatched"), null=True, blank=True)
    # The first visit's arrival: the clause 十九 deadline is met (or missed) by it, never by a revisit.
    arrived_at = models.DateTimeField(_("arrived on site"), null=True, blank=True)
    arrival_typed = models.BooleanField(
        _("arrival entered by hand"),
        default=False,
        help_text=_("The first arrival was typed by a dispatcher or supervisor, not tapped on site."),
    )
    visit_count = models.PositiveSmallIntegerField(_("visits"), default=0)
    # The next visit's appointment: set for a revisit and for planned maintenance.
    appointment_at = models.DateTimeField(_("appointment"), null=True, blank=True)
    logged_late = models.BooleanField(
        _("logged late"), default=False, help_text=_("The call reached the desk after its deadline had passed.")
    )
    logged_late_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("logged late by"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        db_index=False,
    )
    resolved_at = models.DateTimeField(_("resolved"), null=True, blank=True)
    closed_at = models.DateTimeField(_("closed"), null=True, blank=True)
    outcome = models.TextField(_("outcome"), blank=True)
    cancel_reason = models.TextField(_("cancellation reason"), blank=True)
    # Set once by the overdue check, in the same statement that claims the call.
    overdue_marked_at = models.DateTimeField(_("marked overdue"), null=True, blank=True)
    # Empty only for planned maintenance visits, which the periodic check logs from a contract.
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("logged by"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        db_index=False,
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
            ("enter_arrival", _("Can enter an arrival time by hand, with a reason")),
        ]
        indexes = [
            # The dispatch board: a unit's open calls by deadline (keyset pagination).
            models.Index(
                fields=["unit", "attend_by", "id"],
                name="call_board_idx",
                condition=models.Q(status__in=["logged", "dispatched", "on_site"]),
            ),
            # Head office's board (every unit): the same order without the unit.
            models.Index(
                fields=["attend_by", "id"],
                name="call_board_all_units_idx",
                condition=models.Q(status__in=["logged", "dispatched", "on_site"]),
            ),
            # Repeat repairs (dashboard): was this product's previous repair resolved in the 30 days before? An
            # index-only look-up per call instead of reading each of the product's calls from the table.
            models.Index(
                fields=["product", "resolved_at"],
                name="call_product_resolved_idx",
                condition=models.Q(resolved_at__isnull=False),
            ),
            # The overdue check reads only calls that are late and not yet marked.
            models.Index(
                fields=["attend_by"],
                name="call_overdue_due_idx",
                condition=models.Q(status__in=["logged", "dispatched"], overdue_marked_at__isnull=True),
            ),
            # The board's planned part: revisits and planned maintenance by appointment.
            models.Index(
                fields=["unit", "appointment_at", "id"],
                name="call_board_planned_idx",
                condition=models.Q(
                    status__in=["logged", "dispatched", "waiting_parts", "revisit"], appointment_at__isnull=False
                ),
            ),
            models.Index(fields=["technician", "status"], name="call_technician_idx"),
            # A unit's calls by time; with the id the call history's keyset order (issue 13) reads it in order.
            models.Index(fields=["unit", "received_at", "id"], name="call_unit_received_idx"),
            models.Index(fields=["contact_phone"], name="call_contact_phone_idx"),
            # The call history of every unit (head office), newest first (keyset on received_at, id).
            models.Index(fields=["received_at", "id"], name="call_received_idx"),
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

    @property
    def is_between_visits(self) -> bool:
        return self.status in self.BETWEEN_VISITS

    @property
    def is_planned_maintenance(self) -> bool:
        return self.channel == self.Channel.PLANNED

    @property
    def first_time_fix(self) -> bool:
        """Resolved on its first visit (a carried-in call is not a fix on site)."""
        return self.resolved_at is not None and self.visit_count == 1


class Visit(models.Model):
    """One trip to the customer's site: its own arrival, voucher and signature (DOMAIN 1 and 2).

    The arrival is the server's clock when the technician taps "arrived" (with the phone's
    location when it gives one), or a time typed by a dispatcher or supervisor with a reason,
    which stays marked as typed.
    """

    class Arrival(models.TextChoices):
        TAPPED = "tapped", _("Tapped on site")
        TYPED = "typed", _("Entered by hand")

    class Outcome(models.TextChoices):
        RESOLVED = "resolved", _("Resolved")
        CARRIED_IN = "carried_in", _("Carried in")
        WAITING_PARTS = "waiting_parts", _("Waiting for parts")
        REVISIT = "revisit", _("To revisit")

    class NoSignature(models.TextChoices):
        ABSENT = "absent", _("Customer absent")
        REFUSED = "refused", _("Customer refused to sign")

    call = models.ForeignKey(RepairCall, verbose_name=_("repair call"), on_delete=models.PROTECT, related_name="visits")
    unit = models.ForeignKey(
        "servicedesk.OrgUnit", verbose_name=_("unit"), on_delete=models.PROTECT, related_name="+", db_index=False
    )
    number = models.PositiveSmallIntegerField(_("visit"))
    technician = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("technician"), on_delete=models.PROTECT, related_name="+"
    )
    appointment_at = models.DateTimeField(_("appointment"), null=True, blank=True)
    arrived_at = models.DateTimeField(_("arrived on site"))
    arrival_source = models.CharField(_("arrival recorded"), max_length=8, choices=Arrival.choices)
    arrival_reason = models.TextField(_("reason for typing the arrival"), max_length=500, blank=True)
    arrival_entered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("arrival recorded by"),
        on_delete=models.PROTECT,
        related_name="+",
        db_index=False,
    )
    latitude = models.DecimalField(_("latitude"), max_digits=9, decimal_places=6, null=True, blank=True)
    longitude = models.DecimalField(_("longitude"), max_digits=9, decimal_places=6, null=True, blank=True)
    location_accuracy_m = models.PositiveIntegerField(_("location accuracy (m)"), null=True, blank=True)
    outcome = models.CharField(_("outcome"), max_length=16, choices=Outcome.choices, blank=True)
    ended_at = models.DateTimeField(_("visit ended"), null=True, blank=True)
    no_signature_reason = models.CharField(
        _("why the customer did not sign"), max_length=16, choices=NoSignature.choices, blank=True
    )
    no_signature_note = models.TextField(_("note"), max_length=1000, blank=True)
    witness_name = models.CharField(_("witness"), max_length=100, blank=True)
    work_photo = models.BinaryField(_("photo of the work"), null=True, blank=True, editable=False)
    no_signature_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("recorded by"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        db_index=False,
    )
    no_signature_at = models.DateTimeField(_("recorded"), null=True, blank=True)

    class Meta:
        verbose_name = _("visit")
        verbose_name_plural = _("visits")
        ordering = ["call", "number"]
        constraints = [
            models.UniqueConstraint(fields=["call", "number"], name="one_visit_number_per_call"),
            models.CheckConstraint(
                condition=models.Q(no_signature_reason="")
                | ~models.Q(witness_name="")
                | models.Q(work_photo__isnull=False),
                name="visit_unsigned_has_photo_or_witness",
            ),
            models.CheckConstraint(
                condition=models.Q(latitude__isnull=True) | models.Q(latitude__gte=-90, latitude__lte=90),
                name="visit_latitude_range",
            ),
            models.CheckConstraint(
                condition=models.Q(longitude__isnull=True) | models.Q(longitude__gte=-180, longitude__lte=180),
                name="visit_longitude_range",
            ),
        ]
        indexes = [
            # The supervisor's list of visits the customer did not sign, newest first.
            models.Index(
                fields=["unit", "no_signature_at"],
                name="visit_unsigned_idx",
                condition=~models.Q(no_signature_reason=""),
            ),
        ]

    def __str__(self):
        return f"{self.call_id}/{self.number}"

    @property
    def arrival_typed(self) -> bool:
        return self.arrival_source == self.Arrival.TYPED

    @property
    def work_photo_data_uri(self) -> str:
        if not self.work_photo:
            return ""
        import base64

        return "data:image/jpeg;base64," + base64.b64encode(bytes(self.work_photo)).decode("ascii")


# --- Field service: vouchers, fees, carry-in repair (DOMAIN sections 2 and 3) ---------------------------------

DEFAULT_ONSITE_FEE_LIMIT = Decimal("500.00")
DEFAULT_HANDOVER_DAYS = 1


class UnitFeePolicy(models.Model):
    """Clause 十: fees up to the limit are collected on site; above it the clerk invoices.

    The row without a unit is the company default (500 yuan, the standard's
    value); a row for a unit overrides it for that unit.
    """

    unit = models.OneToOneField(
        "servicedesk.OrgUnit",
        verbose_name=_("unit"),
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="fee_policy",
        help_text=_("Leave empty for the default that applies to every unit without its own row."),
    )
    onsite_fee_limit = models.DecimalField(
        _("on-site fee limit (yuan)"),
        max_digits=10,
        decimal_places=2,
        default=DEFAULT_ONSITE_FEE_LIMIT,
        validators=[MinValueValidator(Decimal("0"))],
        help_text=_("Paid service up to this amount is collected on site; above it the clerk invoices."),
    )
    handover_days = models.PositiveSmallIntegerField(
        _("hand-over within (days)"),
        default=DEFAULT_HANDOVER_DAYS,
        help_text=_("Collected fees not handed over after this many days are highlighted on the reconciliation."),
    )

    class Meta:
        verbose_name = _("fee policy")
        verbose_name_plural = _("fee policies")
        constraints = [
            models.UniqueConstraint(
                models.functions.Coalesce("unit", models.Value(0)), name="one_fee_policy_per_unit_or_default"
            ),
            models.CheckConstraint(condition=models.Q(onsite_fee_limit__gte=0), name="fee_limit_not_negative"),
        ]

    def __str__(self):
        return str(self.unit or _("Default for all units"))


class ServiceVoucher(models.Model):
    """Clause 九: the record of one visit, acknowledged by the customer's signature.

    A signed voucher is never edited; a correction is a new voucher that references it.
    """

    class Status(models.TextChoices):
        DRAFT = "draft", _("Draft")
        SIGNED = "signed", _("Signed")
        SUPERSEDED = "superseded", _("Superseded by a correction")

    class Cover(models.TextChoices):
        WARRANTY = "warranty", _("Free: in warranty")
        CONTRACT = "contract", _("Free: maintenance contract")
        OUT_OF_COVER = "out_of_cover", _("Paid: out of warranty, no contract")
        MISUSE = "misuse", _("Paid: damaged by misuse")

    class Settlement(models.TextChoices):
        NONE = "none", _("Nothing to pay")
        ON_SITE = "on_site", _("Collect on site")
        INVOICE = "invoice", _("Invoice by the clerk")

    PAID_COVERS = (Cover.OUT_OF_COVER, Cover.MISUSE)
    TRANSITIONS = {
        Status.DRAFT: (Status.SIGNED,),
        Status.SIGNED: (Status.SUPERSEDED,),
        Status.SUPERSEDED: (),
    }

    number = models.CharField(_("voucher number"), max_length=32, unique=True)
    unit = models.ForeignKey(
        "servicedesk.OrgUnit", verbose_name=_("unit"), on_delete=models.PROTECT, related_name="service_vouchers"
    )
    call = models.ForeignKey(
        RepairCall, verbose_name=_("repair call"), on_delete=models.PROTECT, related_name="vouchers"
    )
    # The visit it records; its arrival is the visit's (null only on rows older than visits).
    visit = models.ForeignKey(
        Visit, verbose_name=_("visit"), null=True, blank=True, on_delete=models.PROTECT, related_name="vouchers"
    )
    corrects = models.ForeignKey(
        "self",
        verbose_name=_("corrects voucher"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="corrections",
    )
    technician = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("technician"), on_delete=models.PROTECT, related_name="+"
    )
    arrived_at = models.DateTimeField(_("arrived on site"))
    departed_at = models.DateTimeField(_("left the site"))
    work_done = models.TextField(_("work done"), max_length=4000)
    misuse = models.BooleanField(_("damaged by misuse"), default=False)
    cover = models.CharField(_("paid or free"), max_length=16, choices=Cover.choices)
    contract_reference = models.CharField(_("contract"), max_length=64, blank=True)
    labour_charge = models.DecimalField(
        _("labour charge"), max_digits=10, decimal_places=2, default=Decimal("0.00"), validators=[MinValueValidator(0)]
    )
    total_due = models.DecimalField(_("amount due"), max_digits=12, decimal_places=2, default=Decimal("0.00"))
    settlement = models.CharField(_("settlement"), max_length=16, choices=Settlement.choices, default=Settlement.NONE)
    # What the customer still owes on the visit (collect on site): the fee services keep it equal to the
    # total less collections and write-offs plus refunds, so open balances are one indexed read.
    fee_balance = models.DecimalField(_("balance to collect"), max_digits=12, decimal_places=2, default=Decimal("0.00"))
    status = models.CharField(_("status"), max_length=16, choices=Status.choices, default=Status.DRAFT)
    signature_png = models.BinaryField(_("customer's signature"), null=True, blank=True, editable=False)
    signed_by_name = models.CharField(_("signed by"), max_length=100, blank=True)
    signed_at = models.DateTimeField(_("signed"), null=True, blank=True)
    invoice_number = models.CharField(_("invoice number"), max_length=64, blank=True)
    invoiced_at = models.DateTimeField(_("invoiced"), null=True, blank=True)
    invoiced_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("invoiced by"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("created by"), on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    updated_at = models.DateTimeField(_("updated"), default=timezone.now)
    version = models.PositiveIntegerField(default=1)

    class Meta:
        verbose_name = _("service voucher")
        verbose_name_plural = _("service vouchers")
        ordering = ["-created_at", "-id"]
        permissions = [
            ("fill_voucher", _("Can fill in service vouchers and collect fees")),
            ("invoice_voucher", _("Can invoice paid service and confirm fee hand-overs")),
        ]
        constraints = [
            models.CheckConstraint(condition=models.Q(total_due__gte=0), name="voucher_total_not_negative"),
            models.CheckConstraint(condition=models.Q(fee_balance__gte=0), name="voucher_fee_balance_not_negative"),
            models.CheckConstraint(
                condition=models.Q(departed_at__gte=models.F("arrived_at")), name="voucher_left_after_arrival"
            ),
        ]
        indexes = [
            models.Index(fields=["call", "created_at"], name="voucher_call_idx"),
            models.Index(
                fields=["unit", "signed_at"],
                name="voucher_to_invoice_idx",
                condition=models.Q(settlement="invoice", invoiced_at__isnull=True),
            ),
            # The reconciliation's "not collected" and open balances, the call's and customer's balance.
            models.Index(
                fields=["unit", "signed_at"], name="voucher_fee_open_idx", condition=models.Q(fee_balance__gt=0)
            ),
        ]

    def __str__(self):
        return self.number

    def get_absolute_url(self):
        return reverse("repairs:voucher_detail", args=[self.pk])

    @property
    def is_paid(self) -> bool:
        return self.cover in self.PAID_COVERS

    @property
    def is_editable(self) -> bool:
        return self.status == self.Status.DRAFT

    @property
    def time_on_site(self) -> dt.timedelta:
        return self.departed_at - self.arrived_at

    @property
    def time_on_site_minutes(self) -> int:
        return int(self.time_on_site.total_seconds() // 60)

    @property
    def signature_data_uri(self) -> str:
        if not self.signature_png:
            return ""
        import base64

        return "data:image/png;base64," + base64.b64encode(bytes(self.signature_png)).decode("ascii")


class VoucherPart(models.Model):
    voucher = models.ForeignKey(
        ServiceVoucher, verbose_name=_("voucher"), on_delete=models.CASCADE, related_name="parts"
    )
    # A catalogue part (issue 14); rows written before the catalogue have only the number and description typed.
    part = models.ForeignKey(
        "parts.Part",
        verbose_name=_("catalogue part"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    part_number = models.CharField(_("part number"), max_length=64)
    description = models.CharField(_("description"), max_length=200, blank=True)
    quantity = models.PositiveIntegerField(_("quantity"), validators=[MinValueValidator(1)])
    unit_price = models.DecimalField(
        _("unit price"), max_digits=10, decimal_places=2, validators=[MinValueValidator(0)]
    )

    class Meta:
        verbose_name = _("part used")
        verbose_name_plural = _("parts used")
        ordering = ["id"]
        constraints = [
            models.CheckConstraint(condition=models.Q(quantity__gte=1), name="voucher_part_quantity_positive"),
            models.CheckConstraint(condition=models.Q(unit_price__gte=0), name="voucher_part_price_not_negative"),
        ]

    def __str__(self):
        return f"{self.part_number} × {self.quantity}"

    @property
    def line_total(self) -> Decimal:
        return self.unit_price * self.quantity


class FeeCollection(models.Model):
    """Clause 十: a fee the technician collected on site, until the clerk confirms the cash was handed over."""

    class Status(models.TextChoices):
        COLLECTED = "collected", _("Collected, not handed over")
        HANDED_OVER = "handed_over", _("Handed over to the clerk")

    class Kind(models.TextChoices):
        FEE = "fee", _("Fee of the visit")
        BALANCE = "balance", _("Collected against the balance")

    TRANSITIONS = {Status.COLLECTED: (Status.HANDED_OVER,), Status.HANDED_OVER: ()}

    # The visit's current voucher: a correction, once signed, carries the fees of the voucher it replaces
    # (DOMAIN 2, one visit one fee), so the fee row moves to it; ``collected_on`` keeps where it was taken.
    voucher = models.ForeignKey(
        ServiceVoucher, verbose_name=_("service voucher"), on_delete=models.PROTECT, related_name="fees"
    )
    collected_on = models.ForeignKey(
        ServiceVoucher,
        verbose_name=_("collected on voucher"),
        on_delete=models.PROTECT,
        related_name="+",
        db_index=False,
    )
    kind = models.CharField(_("kind"), max_length=16, choices=Kind.choices, default=Kind.FEE)
    unit = models.ForeignKey(
        "servicedesk.OrgUnit", verbose_name=_("unit"), on_delete=models.PROTECT, related_name="fee_collections"
    )
    technician = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("technician"), on_delete=models.PROTECT, related_name="+"
    )
    amount = models.DecimalField(_("amount"), max_digits=10, decimal_places=2)
    receipt_number = models.CharField(_("receipt number"), max_length=64)
    collected_at = models.DateTimeField(_("collected"), default=timezone.now)
    status = models.CharField(_("status"), max_length=16, choices=Status.choices, default=Status.COLLECTED)
    handed_over_at = models.DateTimeField(_("handed over"), null=True, blank=True)
    received_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("received by"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    version = models.PositiveIntegerField(default=1)

    class Meta:
        verbose_name = _("fee collected on site")
        verbose_name_plural = _("fees collected on site")
        ordering = ["collected_at", "id"]
        constraints = [
            models.CheckConstraint(condition=models.Q(amount__gt=0), name="fee_amount_positive"),
            models.UniqueConstraint(fields=["unit", "receipt_number"], name="one_fee_per_receipt_number"),
            # One visit, one fee: a correction carries the fee, it never takes a second one.
            models.UniqueConstraint(fields=["voucher"], condition=models.Q(kind="fee"), name="one_fee_per_visit"),
        ]
        indexes = [
            models.Index(fields=["unit", "collected_at"], name="fee_unit_collected_idx"),
            models.Index(
                fields=["unit", "technician"], name="fee_outstanding_idx", condition=models.Q(status="collected")
            ),
        ]

    def __str__(self):
        return f"{self.receipt_number}: {self.amount}"

    def get_absolute_url(self):
        return reverse("repairs:fee_receipt_pdf", args=[self.pk])


class FeeAdjustment(models.Model):
    """DOMAIN 2: a line that changes what a visit's customer owes, other than cash collected.

    A signed correction that changes the visit's total gives a line to collect (the balance grows), less
    to collect (within the open balance) or a refund (what was settled above the new total, handed
    back); a supervisor writes off a balance that will not be collected. Only refunds and write-offs
    move the account (the other two record why the total changed). Every line has who, when and
    why; amounts are positive Decimals, the kind gives the sign.
    """

    class Kind(models.TextChoices):
        COLLECT = "collect", _("Difference to collect")
        REDUCE = "reduce", _("Less to collect")
        REFUND = "refund", _("Refunded to the customer")
        WRITE_OFF = "write_off", _("Written off")

    unit = models.ForeignKey(
        "servicedesk.OrgUnit", verbose_name=_("unit"), on_delete=models.PROTECT, related_name="fee_adjustments"
    )
    # Like a fee, the line follows the visit's current voucher; ``made_on`` is the voucher it was made on.
    voucher = models.ForeignKey(
        ServiceVoucher, verbose_name=_("service voucher"), on_delete=models.PROTECT, related_name="fee_adjustments"
    )
    made_on = models.ForeignKey(
        ServiceVoucher, verbose_name=_("made on voucher"), on_delete=models.PROTECT, related_name="+", db_index=False
    )
    kind = models.CharField(_("kind"), max_length=16, choices=Kind.choices)
    amount = models.DecimalField(_("amount"), max_digits=10, decimal_places=2)
    reason = models.TextField(_("reason"), max_length=1000)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("recorded by"), on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(_("recorded"), default=timezone.now)

    class Meta:
        verbose_name = _("fee adjustment")
        verbose_name_plural = _("fee adjustments")
        ordering = ["created_at", "id"]
        constraints = [
            models.CheckConstraint(condition=models.Q(amount__gt=0), name="fee_adjustment_amount_positive"),
        ]
        indexes = [models.Index(fields=["unit", "created_at"], name="fee_adjustment_unit_idx")]

    def __str__(self):
        return f"{self.get_kind_display()}: {self.amount}"


class RepairCard(models.Model):
    """Clause 十一: the basis of the repair work on a product carried in; 十四: its promised completion time."""

    class Status(models.TextChoices):
        WAITING = "waiting", _("Waiting for repair")
        IN_REPAIR = "in_repair", _("In repair")
        WAITING_PARTS = "waiting_parts", _("Waiting for parts")
        REPAIRED = "repaired", _("Repaired")
        RETURNED = "returned", _("Returned to the customer")

    OPEN = (Status.WAITING, Status.IN_REPAIR, Status.WAITING_PARTS)
    TRANSITIONS = {
        Status.WAITING: (Status.IN_REPAIR, Status.WAITING_PARTS),
        Status.IN_REPAIR: (Status.WAITING_PARTS, Status.REPAIRED),
        Status.WAITING_PARTS: (Status.IN_REPAIR,),
        # A repaired product that fails its final test goes back to repair.
        Status.REPAIRED: (Status.IN_REPAIR, Status.RETURNED),
        Status.RETURNED: (),
    }

    number = models.CharField(_("repair card number"), max_length=32, unique=True)
    unit = models.ForeignKey(
        "servicedesk.OrgUnit", verbose_name=_("unit"), on_delete=models.PROTECT, related_name="repair_cards"
    )
    call = models.OneToOneField(
        RepairCall, verbose_name=_("repair call"), on_delete=models.PROTECT, related_name="repair_card"
    )
    voucher = models.ForeignKey(
        ServiceVoucher, verbose_name=_("signed service voucher"), on_delete=models.PROTECT, related_name="+"
    )
    technician = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("technician"), on_delete=models.PROTECT, related_name="repair_cards"
    )
    fault_found = models.TextField(_("fault found"), max_length=2000)
    work_planned = models.TextField(_("work planned"), max_length=2000)
    parts_planned = models.TextField(_("parts"), max_length=2000, blank=True)
    promised_at = models.DateTimeField(_("promised completion"))
    status = models.CharField(_("status"), max_length=16, choices=Status.choices, default=Status.WAITING)
    repaired_at = models.DateTimeField(_("repaired"), null=True, blank=True)
    repair_notes = models.TextField(_("repair notes"), blank=True)
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    updated_at = models.DateTimeField(_("updated"), default=timezone.now)
    version = models.PositiveIntegerField(default=1)

    class Meta:
        verbose_name = _("repair card")
        verbose_name_plural = _("repair cards")
        ordering = ["promised_at", "id"]
        permissions = [
            ("open_carry_in", _("Can carry products in and work on repair cards")),
            ("manage_register", _("Can book products into and out of the register")),
            ("supervise_repairs", _("Can see late repairs and set new promised times")),
        ]
        indexes = [
            # The promised-time check reads only open cards by promised time.
            models.Index(
                fields=["promised_at"],
                name="card_promise_due_idx",
                condition=models.Q(status__in=["waiting", "in_repair", "waiting_parts"]),
            ),
            models.Index(fields=["unit", "status"], name="card_unit_status_idx"),
        ]

    def __str__(self):
        return self.number

    def get_absolute_url(self):
        return reverse("repairs:card_detail", args=[self.pk])

    @property
    def is_open(self) -> bool:
        return self.status in self.OPEN


class RegisterEntry(models.Model):
    """The customer product in/out register: who holds a customer's product, where, since when.

    Its number is the pickup receipt's number (clause 十一): the product leaves against that receipt.
    """

    class Release(models.TextChoices):
        PICKED_UP = "picked_up", _("Picked up by the customer")
        DELIVERED = "delivered", _("Delivered to the customer")

    receipt_number = models.CharField(_("pickup receipt number"), max_length=32, unique=True)
    unit = models.ForeignKey(
        "servicedesk.OrgUnit", verbose_name=_("unit"), on_delete=models.PROTECT, related_name="register_entries"
    )
    card = models.OneToOneField(
        RepairCard, verbose_name=_("repair card"), on_delete=models.PROTECT, related_name="register_entry"
    )
    call = models.ForeignKey(RepairCall, verbose_name=_("repair call"), on_delete=models.PROTECT, related_name="+")
    product = models.ForeignKey(
        Product, verbose_name=_("product"), null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    item_description = models.CharField(_("product"), max_length=200)
    items_received = models.TextField(_("accessories and condition"), max_length=1000, blank=True)
    taken_at = models.DateTimeField(_("taken from the customer"))
    taken_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("carried in by"), on_delete=models.PROTECT, related_name="+"
    )
    received_at = models.DateTimeField(_("booked in"), null=True, blank=True)
    received_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("received by clerk"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    storage_location = models.CharField(_("stored at"), max_length=100, blank=True)
    released_at = models.DateTimeField(_("left the register"), null=True, blank=True)
    released_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("released by"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    release_kind = models.CharField(_("returned how"), max_length=16, choices=Release.choices, blank=True)
    released_to_name = models.CharField(_("received by (customer)"), max_length=100, blank=True)
    release_signature_png = models.BinaryField(
        _("customer's signature on return"), null=True, blank=True, editable=False
    )
    # The pickup receipt is signed on the technician's screen and sent to the customer (issue 16), not printed.
    pickup_signature_png = models.BinaryField(
        _("customer's signature on the pickup receipt"), null=True, blank=True, editable=False
    )
    pickup_signed_by_name = models.CharField(_("pickup receipt signed by"), max_length=100, blank=True)
    receipt_sent_to = models.CharField(_("pickup receipt sent to"), max_length=254, blank=True)
    receipt_sent_to_phone = models.CharField(_("pickup receipt sent by SMS to"), max_length=20, blank=True)

    class Meta:
        verbose_name = _("register entry")
        verbose_name_plural = _("customer product in/out register")
        ordering = ["taken_at", "id"]
        indexes = [
            models.Index(
                fields=["unit", "taken_at"], name="register_in_hands_idx", condition=models.Q(released_at__isnull=True)
            ),
        ]

    def __str__(self):
        return self.receipt_number

    @property
    def in_our_hands(self) -> bool:
        return self.released_at is None

    @property
    def pickup_signature_data_uri(self) -> str:
        if not self.pickup_signature_png:
            return ""
        return "data:image/png;base64," + base64.b64encode(bytes(self.pickup_signature_png)).decode("ascii")

    @property
    def release_signature_data_uri(self) -> str:
        if not self.release_signature_png:
            return ""
        import base64

        return "data:image/png;base64," + base64.b64encode(bytes(self.release_signature_png)).decode("ascii")


class RepairCardDelay(models.Model):
    """Clause 十四: one row per missed (or about to be missed) promised time of a card.

    Written by the technician's report or by the periodic check, whichever
    comes first; the unique (card, promised_at) makes the escalation happen
    once per promised time. A new promised time starts a new cycle.
    """

    class CustomerNotice(models.TextChoices):
        EMAIL = "email", _("E-mail")
        LETTER = "letter", _("Letter")

    card = models.ForeignKey(RepairCard, verbose_name=_("repair card"), on_delete=models.CASCADE, related_name="delays")
    unit = models.ForeignKey("servicedesk.OrgUnit", verbose_name=_("unit"), on_delete=models.PROTECT, related_name="+")
    promised_at = models.DateTimeField(_("promised completion missed"))
    reported_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("reported by"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    reported_at = models.DateTimeField(_("reported"), null=True, blank=True)
    reason = models.TextField(_("reason"), blank=True)
    escalated_at = models.DateTimeField(_("escalated by the check"), null=True, blank=True)
    new_promised_at = models.DateTimeField(_("new promised completion"), null=True, blank=True)
    rescheduled_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("new time set by"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    rescheduled_at = models.DateTimeField(_("new time set"), null=True, blank=True)
    customer_notice = models.CharField(_("customer told by"), max_length=16, choices=CustomerNotice.choices, blank=True)
    letter_sent_at = models.DateTimeField(_("letter sent"), null=True, blank=True)

    class Meta:
        verbose_name = _("late repair")
        verbose_name_plural = _("late repairs")
        ordering = ["promised_at", "id"]
        constraints = [
            models.UniqueConstraint(fields=["card", "promised_at"], name="one_escalation_per_promised_time"),
        ]
        indexes = [
            models.Index(
                fields=["unit", "promised_at"],
                name="delay_unanswered_idx",
                condition=models.Q(new_promised_at__isnull=True),
            ),
        ]

    def __str__(self):
        return f"{self.card} @ {self.promised_at:%Y-%m-%d %H:%M}"


# Charged carry-in repairs and parts on repair cards (issue 14) live in their own module.
from .models_quotes import RepairCardFee, RepairCardPart, RepairQuote, RepairQuoteLine  # noqa: E402, F401
