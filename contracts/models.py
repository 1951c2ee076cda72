"""Maintenance contracts, their terms, expiry notices and renewal follow-ups (DOMAIN section 4, clause 二十)."""

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from servicedesk.models import NamedInLanguages, name_en_field


class ContractType(NamedInLanguages, models.Model):
    """Reference table kept by administrators: how long before the end a term is noticed, and followed up."""

    code = models.SlugField(_("code"), max_length=32, unique=True)
    name = models.CharField(_("name"), max_length=100)
    name_en = name_en_field()
    # Clause 二十: one month before expiry, by default.
    notice_months = models.PositiveSmallIntegerField(
        _("notice window (months)"),
        default=1,
        validators=[MaxValueValidator(24)],
        help_text=_("Calendar months before the last day of a term that its expiry notice is issued."),
    )
    notice_days = models.PositiveSmallIntegerField(
        _("notice window (extra days)"),
        default=0,
        validators=[MaxValueValidator(365)],
        help_text=_("Days added to the months above."),
    )
    follow_up_days = models.PositiveSmallIntegerField(
        _("follow-up within (days)"),
        default=14,
        validators=[MinValueValidator(1), MaxValueValidator(365)],
        help_text=_("Days after the notice by which the unit must have the customer's answer."),
    )
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("contract type")
        verbose_name_plural = _("contract types")
        ordering = ["name"]

    def __str__(self):
        return self.label


class VisitFrequency(models.TextChoices):
    MONTHLY = "monthly", _("Monthly")
    QUARTERLY = "quarterly", _("Quarterly")
    HALF_YEARLY = "half_yearly", _("Every six months")
    YEARLY = "yearly", _("Yearly")
    ON_CALL = "on_call", _("On call only")


class Contract(models.Model):
    """The agreement with a customer: who, which unit looks after it, what it covers. Dates live on its terms."""

    # Unique through Meta.constraints: no second (LIKE) index to maintain on a 100,000-row import.
    number = models.CharField(_("contract number"), max_length=40)
    # Indexed with the customer (contract_unit_customer_idx); the import writes few indexes.
    unit = models.ForeignKey(
        "servicedesk.OrgUnit",
        verbose_name=_("unit"),
        on_delete=models.PROTECT,
        related_name="contracts",
        db_index=False,
    )
    customer = models.ForeignKey(
        "repairs.Customer", verbose_name=_("customer"), on_delete=models.PROTECT, related_name="contracts"
    )
    contract_type = models.ForeignKey(
        ContractType, verbose_name=_("contract type"), on_delete=models.PROTECT, related_name="contracts"
    )
    handled_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("handled by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        db_index=False,
        help_text=_("Who follows up renewals; anyone in the unit when empty."),
    )
    products = models.ManyToManyField(
        "repairs.Product", verbose_name=_("covered products"), through="ContractProduct", related_name="contracts"
    )
    sites = models.ManyToManyField(
        "repairs.Site", verbose_name=_("covered sites"), through="ContractSite", related_name="contracts"
    )
    note = models.TextField(_("note"), blank=True)
    import_batch = models.ForeignKey(
        "ContractImport",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="contracts",
        db_index=False,
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+", db_index=False
    )
    created_at = models.DateTimeField(_("created"), default=timezone.now)

    class Meta:
        verbose_name = _("maintenance contract")
        verbose_name_plural = _("maintenance contracts")
        ordering = ["number"]
        permissions = [
            ("manage_contracts", _("Can create, renew and import maintenance contracts")),
            ("follow_up_renewals", _("Can record the outcome of renewal follow-ups")),
        ]
        constraints = [models.UniqueConstraint(fields=["number"], name="contract_number_unique")]
        indexes = [models.Index(fields=["unit", "customer"], name="contract_unit_customer_idx")]

    def __str__(self):
        return self.number

    def get_absolute_url(self):
        return reverse("contracts:detail", args=[self.pk])


class ContractProduct(models.Model):
    """A product covered by serial number."""

    # Indexed by the unique (contract, product) pair.
    contract = models.ForeignKey(Contract, on_delete=models.CASCADE, related_name="covered_products", db_index=False)
    product = models.ForeignKey("repairs.Product", on_delete=models.PROTECT, related_name="contract_covers")

    class Meta:
        verbose_name = _("covered product")
        verbose_name_plural = _("covered products")
        constraints = [models.UniqueConstraint(fields=["contract", "product"], name="contract_product_once")]

    def __str__(self):
        return f"{self.contract_id}: {self.product_id}"


class ContractSite(models.Model):
    """A site covered as a whole: every product there."""

    contract = models.ForeignKey(Contract, on_delete=models.CASCADE, related_name="covered_sites", db_index=False)
    site = models.ForeignKey("repairs.Site", on_delete=models.PROTECT, related_name="contract_covers")

    class Meta:
        verbose_name = _("covered site")
        verbose_name_plural = _("covered sites")
        constraints = [models.UniqueConstraint(fields=["contract", "site"], name="contract_site_once")]

    def __str__(self):
        return f"{self.contract_id}: {self.site_id}"


class ContractTerm(models.Model):
    """One period of a contract. Renewal creates the next term, linked to this one."""

    class Status(models.TextChoices):
        ACTIVE = "active", _("Active")
        RENEWED = "renewed", _("Renewed")
        EXPIRED = "expired", _("Expired")

    # A lapsed term may still be renewed late; the gap between the terms has no cover.
    TRANSITIONS = {
        Status.ACTIVE: (Status.RENEWED, Status.EXPIRED),
        Status.EXPIRED: (Status.RENEWED,),
        Status.RENEWED: (),
    }

    # Indexed by (contract, sequence) and term_cover_idx.
    contract = models.ForeignKey(
        Contract, verbose_name=_("contract"), on_delete=models.CASCADE, related_name="terms", db_index=False
    )
    sequence = models.PositiveSmallIntegerField(_("term"), default=1)
    # One-to-one: a term is renewed at most once, whoever clicks first.
    previous = models.OneToOneField(
        "self",
        verbose_name=_("previous term"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="next_term",
    )
    start_on = models.DateField(_("starts"))
    end_on = models.DateField(_("ends"), help_text=_("The last day covered."))
    fee = models.DecimalField(_("fee"), max_digits=12, decimal_places=2)
    visit_frequency = models.CharField(
        _("visit frequency"), max_length=16, choices=VisitFrequency.choices, default=VisitFrequency.QUARTERLY
    )
    status = models.CharField(_("status"), max_length=16, choices=Status.choices, default=Status.ACTIVE)
    # Denormalised from the contract type's window so the daily job reads one index.
    notice_on = models.DateField(_("notice due"))
    # Set in the same transaction that writes the term's expiry notice.
    noticed_at = models.DateTimeField(_("noticed"), null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+", db_index=False
    )
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    updated_at = models.DateTimeField(_("updated"), default=timezone.now)
    version = models.PositiveIntegerField(default=1)

    class Meta:
        verbose_name = _("contract term")
        verbose_name_plural = _("contract terms")
        ordering = ["contract", "sequence"]
        constraints = [
            models.UniqueConstraint(fields=["contract", "sequence"], name="contract_term_sequence_once"),
            models.CheckConstraint(condition=models.Q(end_on__gte=models.F("start_on")), name="term_ends_after_start"),
            models.CheckConstraint(condition=models.Q(fee__gte=0), name="term_fee_not_negative"),
        ]
        indexes = [
            # The daily notice run reads only active terms not yet noticed, by notice date.
            models.Index(
                fields=["notice_on"],
                name="term_notice_due_idx",
                condition=models.Q(status="active", noticed_at__isnull=True),
            ),
            # The daily expiry run reads only active terms, by end date.
            models.Index(fields=["end_on"], name="term_active_end_idx", condition=models.Q(status="active")),
            # The cover decision: a contract's term on a date.
            models.Index(fields=["contract", "start_on", "end_on"], name="term_cover_idx"),
        ]

    def __str__(self):
        return f"{self.contract.number} / {self.sequence}"

    def get_absolute_url(self):
        return reverse("contracts:detail", args=[self.contract_id])

    def covers_day(self, day) -> bool:
        return self.start_on <= day <= self.end_on


class ExpiryNotice(models.Model):
    """保养到期通知书: one per term, ever (the unique term is the guarantee), and its e-mail outbox state."""

    number = models.CharField(_("notice number"), max_length=32, unique=True)
    term = models.OneToOneField(
        ContractTerm, verbose_name=_("contract term"), on_delete=models.PROTECT, related_name="expiry_notice"
    )
    unit = models.ForeignKey("servicedesk.OrgUnit", verbose_name=_("unit"), on_delete=models.PROTECT, related_name="+")
    issued_on = models.DateField(_("issued"))
    email_to = models.EmailField(_("e-mailed to"), blank=True)
    emailed_at = models.DateTimeField(_("e-mailed"), null=True, blank=True)
    email_attempts = models.PositiveSmallIntegerField(default=0)
    email_error = models.TextField(blank=True)
    created_at = models.DateTimeField(_("created"), default=timezone.now)

    class Meta:
        verbose_name = _("maintenance expiry notice")
        verbose_name_plural = _("maintenance expiry notices")
        ordering = ["-issued_on", "-id"]
        indexes = [
            models.Index(
                fields=["created_at"],
                name="notice_email_pending_idx",
                condition=models.Q(emailed_at__isnull=True) & ~models.Q(email_to=""),
            ),
        ]

    def __str__(self):
        return self.number


class RenewalFollowUp(models.Model):
    """Who asks the customer about renewal, by when, and the answer."""

    class Status(models.TextChoices):
        OPEN = "open", _("Open")
        RENEWED = "renewed", _("Renewed")
        DECLINED = "declined", _("Declined")
        NO_ANSWER = "no_answer", _("No answer")

    # A customer who declined or did not answer may still come back and renew.
    TRANSITIONS = {
        Status.OPEN: (Status.RENEWED, Status.DECLINED, Status.NO_ANSWER),
        Status.NO_ANSWER: (Status.RENEWED, Status.DECLINED),
        Status.DECLINED: (Status.RENEWED,),
        Status.RENEWED: (),
    }
    OUTCOMES = (Status.DECLINED, Status.NO_ANSWER)
    PENDING = (Status.OPEN,)

    term = models.OneToOneField(
        ContractTerm, verbose_name=_("contract term"), on_delete=models.PROTECT, related_name="follow_up"
    )
    notice = models.OneToOneField(
        ExpiryNotice, null=True, blank=True, on_delete=models.PROTECT, related_name="follow_up"
    )
    unit = models.ForeignKey("servicedesk.OrgUnit", verbose_name=_("unit"), on_delete=models.PROTECT, related_name="+")
    assigned_to = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("assigned to"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="renewal_follow_ups",
    )
    due_on = models.DateField(_("answer due"))
    status = models.CharField(_("outcome"), max_length=16, choices=Status.choices, default=Status.OPEN)
    note = models.TextField(_("note"), blank=True)
    closed_at = models.DateTimeField(_("closed"), null=True, blank=True)
    closed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    updated_at = models.DateTimeField(_("updated"), default=timezone.now)
    version = models.PositiveIntegerField(default=1)

    class Meta:
        verbose_name = _("renewal follow-up")
        verbose_name_plural = _("renewal follow-ups")
        ordering = ["due_on", "id"]
        indexes = [
            models.Index(fields=["unit", "due_on"], name="followup_open_idx", condition=models.Q(status="open")),
        ]

    def __str__(self):
        return f"{self.term} → {self.get_status_display()}"

    def get_absolute_url(self):
        return reverse("contracts:follow_up", args=[self.pk])


class ContractImport(models.Model):
    """One uploaded file of existing contracts: validated in full, then imported all-or-nothing (or good rows)."""

    class Status(models.TextChoices):
        QUEUED = "queued", _("Waiting")
        VALIDATING = "validating", _("Checking rows")
        REJECTED = "rejected", _("Rows with errors: nothing imported")
        IMPORTING = "importing", _("Importing")
        IMPORTED = "imported", _("Imported")
        FAILED = "failed", _("Failed")

    # Back to QUEUED: asked to import the valid rows after seeing the errors (they are checked
    # again), or restarted after a worker stopped half-way (the import transaction never committed).
    TRANSITIONS = {
        Status.QUEUED: (Status.VALIDATING, Status.FAILED),
        Status.VALIDATING: (Status.REJECTED, Status.IMPORTING, Status.FAILED, Status.QUEUED),
        Status.REJECTED: (Status.QUEUED,),
        Status.IMPORTING: (Status.IMPORTED, Status.FAILED, Status.QUEUED),
        Status.IMPORTED: (),
        Status.FAILED: (),
    }
    RUNNING = (Status.QUEUED, Status.VALIDATING, Status.IMPORTING)

    unit = models.ForeignKey("servicedesk.OrgUnit", verbose_name=_("unit"), on_delete=models.PROTECT, related_name="+")
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("uploaded by"), on_delete=models.PROTECT, related_name="+"
    )
    filename = models.CharField(_("file"), max_length=255)
    # Kept in the database so any worker can read it; emptied once imported.
    content = models.BinaryField(editable=False)
    import_valid_rows = models.BooleanField(_("import the valid rows even if some have errors"), default=False)
    status = models.CharField(_("status"), max_length=16, choices=Status.choices, default=Status.QUEUED)
    rows_total = models.PositiveIntegerField(default=0)
    rows_checked = models.PositiveIntegerField(default=0)
    rows_valid = models.PositiveIntegerField(default=0)
    rows_imported = models.PositiveIntegerField(default=0)
    error_count = models.PositiveIntegerField(default=0)
    # [{"line": 7, "column": "end_on", "message": "..."}], the first MAX_REPORTED_ERRORS of them.
    errors = models.JSONField(default=list, blank=True)
    message = models.TextField(blank=True)
    created_at = models.DateTimeField(_("uploaded"), default=timezone.now)
    updated_at = models.DateTimeField(_("updated"), default=timezone.now)
    finished_at = models.DateTimeField(_("finished"), null=True, blank=True)
    version = models.PositiveIntegerField(default=1)

    class Meta:
        verbose_name = _("contract import")
        verbose_name_plural = _("contract imports")
        ordering = ["-created_at"]

    def __str__(self):
        return self.filename

    def get_absolute_url(self):
        return reverse("contracts:import_detail", args=[self.pk])

    @property
    def is_running(self) -> bool:
        return self.status in self.RUNNING


class PlannedVisit(models.Model):
    """DOMAIN 4: a planned maintenance visit of a contract term, once per period and site.

    The unique (term, site, period_start) is what makes the periodic generator do each visit once
    whatever happens (a rerun, two runs at once, a run after an outage). The visit itself is an
    ordinary repair call of the channel "planned maintenance": dispatched, attended, signed like any.
    """

    term = models.ForeignKey(
        ContractTerm, verbose_name=_("contract term"), on_delete=models.CASCADE, related_name="planned_visits"
    )
    contract = models.ForeignKey(
        Contract, verbose_name=_("contract"), on_delete=models.CASCADE, related_name="planned_visits", db_index=False
    )
    unit = models.ForeignKey(
        "servicedesk.OrgUnit", verbose_name=_("unit"), on_delete=models.PROTECT, related_name="+", db_index=False
    )
    site = models.ForeignKey("repairs.Site", verbose_name=_("site"), on_delete=models.PROTECT, related_name="+")
    period_start = models.DateField(_("period starts"))
    period_end = models.DateField(_("period ends"))
    planned_on = models.DateField(_("planned for"))
    call = models.OneToOneField(
        "repairs.RepairCall",
        verbose_name=_("repair call"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="planned_visit",
    )
    created_at = models.DateTimeField(_("created"), default=timezone.now)

    class Meta:
        verbose_name = _("planned maintenance visit")
        verbose_name_plural = _("planned maintenance visits")
        ordering = ["planned_on", "id"]
        constraints = [
            models.UniqueConstraint(fields=["term", "site", "period_start"], name="one_planned_visit_per_period"),
            models.CheckConstraint(
                condition=models.Q(period_end__gte=models.F("period_start")), name="planned_period_ends_after_start"
            ),
        ]
        indexes = [
            models.Index(fields=["contract", "planned_on"], name="planned_visit_contract_idx"),
            # The weekly list: a unit's visits by day.
            models.Index(fields=["unit", "planned_on"], name="planned_visit_unit_day_idx"),
        ]

    def __str__(self):
        return f"{self.contract_id} {self.period_start:%Y-%m-%d}"
