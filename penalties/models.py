"""Responsibility and penalties for ruled complaint cases (DOMAIN section 8, clause 六).

- ``PenaltyKind``, ``CriteriaVersion`` and ``CriteriaRow``: the penalty criteria table
  (客户投诉罚扣判定基准), kept by administrators, in versions with effective dates.
- ``ResaleWindowPolicy``: how long returned goods have to be resold (one calendar month).
- ``CaseLoss`` and ``ResaleProceeds``: a ruled case's loss, provisional until the window closes.
- ``PenaltyRuling`` and ``PenaltyLine``: who bears which share of the loss and which penalty;
  proposed from the table, adjusted by the GM office, approved by a manager, then immutable.
- ``AuditEntry``: the append-only trail of every change to all of the above.

An approved ruling, its lines and every audit entry are also protected by database triggers
(migration 0002): a direct UPDATE or DELETE is refused by the database itself.
"""

from decimal import Decimal

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from servicedesk.models import NamedInLanguages, name_en_field

HUNDRED = Decimal("100")

MONEY = {"max_digits": 14, "decimal_places": 2}


class PenaltyKind(NamedInLanguages, models.Model):
    """Warning, minor demerit (小过), major demerit (大过), …: a table administrators keep."""

    code = models.SlugField(_("code"), max_length=32, unique=True)
    name = models.CharField(_("name"), max_length=100)
    name_en = name_en_field()
    severity = models.PositiveSmallIntegerField(
        _("severity"), default=1, help_text=_("Higher is heavier; orders the kinds in lists.")
    )
    # The standard: one minor demerit deducts at least 800 yuan per base unit.
    minimum_per_unit = models.DecimalField(
        _("minimum deduction per base unit (yuan)"),
        **MONEY,
        default=Decimal("0.00"),
        validators=[MinValueValidator(Decimal("0"))],
    )
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("penalty kind")
        verbose_name_plural = _("penalty kinds")
        ordering = ["severity", "code"]
        constraints = [
            models.CheckConstraint(condition=Q(minimum_per_unit__gte=0), name="penalty_kind_minimum_not_negative"),
        ]

    def __str__(self):
        return self.label


class CriteriaVersion(models.Model):
    """One version of the criteria table: the set of its rows, in force from ``effective_from``.

    The version in force on a day is the one with the latest ``effective_from`` on or before it.
    A version already in force (or used by a ruling) is never edited: a change is a new version.
    """

    effective_from = models.DateField(_("in force from"), unique=True)
    note = models.CharField(_("note"), max_length=200, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("created by"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    created_at = models.DateTimeField(_("created"), default=timezone.now)

    class Meta:
        verbose_name = _("penalty criteria version")
        verbose_name_plural = _("penalty criteria table (versions)")
        ordering = ["-effective_from"]
        permissions = [("keep_criteria", _("Can keep the penalty criteria table"))]

    def __str__(self):
        return _("Criteria in force from %(date)s") % {"date": self.effective_from.isoformat()}

    def is_locked(self, *, today) -> bool:
        """In force already (or used by a ruling): its rows are history and cannot change."""
        return self.effective_from <= today or self.rulings.exists()


class CriteriaRow(models.Model):
    """A cause category and a loss bracket map to a penalty kind and its deduction.

    The bracket is ``loss_from`` (inclusive) up to ``loss_to`` (exclusive; empty: no upper limit),
    matched against a party's share of the loss. A row without a cause category applies to every
    cause that has no row of its own in the version.
    """

    version = models.ForeignKey(
        CriteriaVersion, verbose_name=_("version"), on_delete=models.PROTECT, related_name="rows"
    )
    cause_category = models.ForeignKey(
        "complaints.CauseCategory",
        verbose_name=_("cause category"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        help_text=_("Leave empty for every cause without a row of its own."),
    )
    loss_from = models.DecimalField(_("loss from (yuan, inclusive)"), **MONEY, default=Decimal("0.00"))
    loss_to = models.DecimalField(_("loss below (yuan)"), **MONEY, null=True, blank=True)
    penalty_kind = models.ForeignKey(
        PenaltyKind, verbose_name=_("penalty kind"), on_delete=models.PROTECT, related_name="+"
    )
    amount_per_unit = models.DecimalField(_("deduction per base unit (yuan)"), **MONEY)
    base_units = models.DecimalField(
        _("base units"),
        max_digits=6,
        decimal_places=2,
        default=Decimal("1"),
        validators=[MinValueValidator(Decimal("0"))],
    )
    note = models.CharField(_("note"), max_length=200, blank=True)

    class Meta:
        verbose_name = _("penalty criteria row")
        verbose_name_plural = _("penalty criteria rows")
        ordering = ["version", "cause_category", "loss_from"]
        constraints = [
            models.CheckConstraint(condition=Q(loss_from__gte=0), name="criteria_loss_from_not_negative"),
            models.CheckConstraint(
                condition=Q(loss_to__isnull=True) | Q(loss_to__gt=models.F("loss_from")),
                name="criteria_bracket_not_empty",
            ),
            models.CheckConstraint(
                condition=Q(amount_per_unit__gte=0) & Q(base_units__gte=0), name="criteria_amounts_not_negative"
            ),
        ]

    def __str__(self):
        upper = self.loss_to if self.loss_to is not None else "∞"
        cause = self.cause_category or _("any cause")
        return f"{cause} · {self.loss_from}–{upper} · {self.penalty_kind}"

    def matches(self, loss: Decimal) -> bool:
        return self.loss_from <= loss and (self.loss_to is None or loss < self.loss_to)


class ResaleWindowPolicy(models.Model):
    """How long returned goods have to be resold before the loss is final (one calendar month)."""

    months = models.PositiveSmallIntegerField(_("calendar months"), default=1, validators=[MaxValueValidator(24)])
    days = models.PositiveSmallIntegerField(_("and days"), default=0, validators=[MaxValueValidator(366)])
    singleton = models.BooleanField(default=True, editable=False, unique=True)

    class Meta:
        verbose_name = _("resale window")
        verbose_name_plural = _("resale window")

    def __str__(self):
        return _("%(months)s month(s) and %(days)s day(s)") % {"months": self.months, "days": self.days}

    @classmethod
    def current(cls) -> "ResaleWindowPolicy":
        return cls.objects.first() or cls()


class CaseLoss(models.Model):
    """A ruled case's loss: returned goods + allowances + other costs − resale proceeds (see ``amount``).

    Provisional while the returned goods can still be resold (the window opens when the case is
    ruled); final afterwards, once, by the periodic job. A case without returned goods is final at once.
    """

    class Status(models.TextChoices):
        PROVISIONAL = "provisional", _("Provisional (resale window open)")
        FINAL = "final", _("Final")

    TRANSITIONS = {Status.PROVISIONAL: (Status.FINAL,), Status.FINAL: ()}

    case = models.OneToOneField(
        "complaints.ComplaintCase", verbose_name=_("case"), on_delete=models.PROTECT, related_name="penalty_loss"
    )
    unit = models.ForeignKey("servicedesk.OrgUnit", verbose_name=_("unit"), on_delete=models.PROTECT, related_name="+")
    returned_goods = models.DecimalField(_("returned goods (yuan)"), **MONEY, default=Decimal("0.00"))
    allowances = models.DecimalField(_("allowances (yuan)"), **MONEY, default=Decimal("0.00"))
    costs = models.DecimalField(_("other costs (yuan)"), **MONEY, default=Decimal("0.00"))
    resale_proceeds = models.DecimalField(_("resale proceeds (yuan)"), **MONEY, default=Decimal("0.00"))
    status = models.CharField(_("status"), max_length=16, choices=Status.choices, default=Status.PROVISIONAL)
    window_starts_at = models.DateTimeField(_("resale window opens"))
    window_ends_at = models.DateTimeField(_("resale window closes"))
    finalized_at = models.DateTimeField(_("final since"), null=True, blank=True)
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    updated_at = models.DateTimeField(_("updated"), default=timezone.now)
    version = models.PositiveIntegerField(default=1)

    class Meta:
        verbose_name = _("case loss")
        verbose_name_plural = _("case losses")
        ordering = ["-window_starts_at", "-id"]
        indexes = [
            # The closing job reads only the provisional losses whose window has ended.
            models.Index(fields=["window_ends_at"], name="loss_window_due_idx", condition=Q(status="provisional")),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(returned_goods__gte=0) & Q(allowances__gte=0) & Q(costs__gte=0) & Q(resale_proceeds__gte=0),
                name="loss_figures_not_negative",
            ),
            models.CheckConstraint(
                condition=Q(window_ends_at__gte=models.F("window_starts_at")), name="loss_window_ends_after_start"
            ),
        ]

    def __str__(self):
        return f"{self.case} · {self.amount}"

    def get_absolute_url(self):
        from django.urls import reverse

        return reverse("penalties:loss_detail", kwargs={"pk": self.pk})

    @property
    def amount(self) -> Decimal:
        return loss_amount(
            returned_goods=self.returned_goods,
            allowances=self.allowances,
            costs=self.costs,
            resale_proceeds=self.resale_proceeds,
        )

    @property
    def is_final(self) -> bool:
        return self.status == self.Status.FINAL


def loss_amount(*, returned_goods: Decimal, allowances: Decimal, costs: Decimal, resale_proceeds: Decimal) -> Decimal:
    """Resale recovers at most the returned goods' value: the loss never falls below allowances + costs."""
    return allowances + costs + max(returned_goods - resale_proceeds, Decimal("0.00"))


class ResaleProceeds(models.Model):
    """Money from reselling a case's returned goods, entered while the window is open."""

    loss = models.ForeignKey(CaseLoss, verbose_name=_("loss"), on_delete=models.PROTECT, related_name="proceeds")
    amount = models.DecimalField(_("amount (yuan)"), **MONEY)
    sold_on = models.DateField(_("sold on"))
    note = models.CharField(_("buyer, invoice"), max_length=200, blank=True)
    entered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("entered by"), null=True, on_delete=models.PROTECT, related_name="+"
    )
    entered_at = models.DateTimeField(_("entered"), default=timezone.now)

    class Meta:
        verbose_name = _("resale proceeds")
        verbose_name_plural = _("resale proceeds")
        ordering = ["entered_at", "id"]
        constraints = [models.CheckConstraint(condition=Q(amount__gt=0), name="resale_proceeds_positive")]

    def __str__(self):
        return f"{self.sold_on} · {self.amount}"


class PenaltyRuling(models.Model):
    """Who bears a ruled case's loss and which penalties follow (罚扣判定), in lines.

    Proposed by the GM office from the criteria table, adjusted by it if need be, approved by a
    manager who neither proposed nor adjusted it nor is penalised by it. Once approved it never
    changes: a correction is a new ruling that ``corrects`` it (a reversal, or an amendment that
    reverses the old lines and states new ones), approved the same way.
    """

    class Kind(models.TextChoices):
        ORIGINAL = "original", _("Ruling")
        REVERSAL = "reversal", _("Correction: reversal")
        AMENDMENT = "amendment", _("Correction: amendment")

    class Status(models.TextChoices):
        DRAFT = "draft", _("Draft (shares)")
        PROPOSED = "proposed", _("Proposed")
        APPROVED = "approved", _("Approved")
        CANCELLED = "cancelled", _("Cancelled")

    TRANSITIONS = {
        Status.DRAFT: (Status.PROPOSED, Status.CANCELLED),
        # Back to draft to change the shares; the proposal is made again from the table.
        Status.PROPOSED: (Status.APPROVED, Status.DRAFT, Status.CANCELLED),
        Status.APPROVED: (),
        Status.CANCELLED: (),
    }

    number = models.CharField(_("number"), max_length=32, unique=True)
    case = models.ForeignKey(
        "complaints.ComplaintCase", verbose_name=_("case"), on_delete=models.PROTECT, related_name="penalty_rulings"
    )
    unit = models.ForeignKey("servicedesk.OrgUnit", verbose_name=_("unit"), on_delete=models.PROTECT, related_name="+")
    kind = models.CharField(_("kind"), max_length=16, choices=Kind.choices, default=Kind.ORIGINAL)
    corrects = models.ForeignKey(
        "self", verbose_name=_("corrects"), null=True, blank=True, on_delete=models.PROTECT, related_name="corrections"
    )
    reason = models.TextField(_("reason for the correction"), max_length=2000, blank=True)
    status = models.CharField(_("status"), max_length=16, choices=Status.choices, default=Status.DRAFT)
    # The facts the proposal was made from, kept as they were then.
    case_date = models.DateField(_("case date"))
    criteria_version = models.ForeignKey(
        CriteriaVersion,
        verbose_name=_("criteria version"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="rulings",
    )
    cause_category = models.ForeignKey(
        "complaints.CauseCategory",
        verbose_name=_("cause category"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    loss_amount = models.DecimalField(_("loss (yuan)"), **MONEY, null=True, blank=True)
    loss_was_final = models.BooleanField(_("loss was final"), default=False)
    shares_total = models.DecimalField(_("shares total (%)"), max_digits=6, decimal_places=2, default=Decimal("0"))
    total_deduction = models.DecimalField(_("total deduction (yuan)"), **MONEY, default=Decimal("0.00"))
    opened_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("opened by"), null=True, on_delete=models.PROTECT, related_name="+"
    )
    opened_at = models.DateTimeField(_("opened"), default=timezone.now)
    proposed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("proposed by"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    proposed_at = models.DateTimeField(_("proposed"), null=True, blank=True)
    approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("approved by"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    approved_at = models.DateTimeField(_("approved"), null=True, blank=True)
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    updated_at = models.DateTimeField(_("updated"), default=timezone.now)
    version = models.PositiveIntegerField(default=1)

    class Meta:
        verbose_name = _("penalty ruling")
        verbose_name_plural = _("penalty rulings")
        ordering = ["-opened_at", "-id"]
        permissions = [
            ("propose_ruling", _("Can set responsibility shares, propose and adjust penalty rulings")),
            ("approve_ruling", _("Can approve penalty rulings (manager)")),
            ("view_penalty_ledger", _("Can see the monthly penalty ledger")),
            ("view_penalty_audit", _("Can see the penalties audit trail")),
        ]
        indexes = [
            models.Index(fields=["unit", "status", "opened_at"], name="ruling_unit_status_idx"),
            models.Index(fields=["status", "approved_at"], name="ruling_approved_idx"),
        ]
        constraints = [
            # Shares add up to exactly 100 % on every ruling past its draft (a reversal only undoes lines).
            models.CheckConstraint(
                condition=Q(status__in=["draft", "cancelled"]) | Q(kind="reversal") | Q(shares_total=HUNDRED),
                name="ruling_shares_total_100",
            ),
            models.CheckConstraint(
                condition=Q(kind="original", corrects__isnull=True) | Q(~Q(kind="original"), corrects__isnull=False),
                name="ruling_correction_links_its_ruling",
            ),
            models.CheckConstraint(
                condition=~Q(status="approved") | Q(approved_by__isnull=False, approved_at__isnull=False),
                name="ruling_approval_recorded",
            ),
            # One live original ruling per case; one live correction per ruling.
            models.UniqueConstraint(
                fields=["case"], condition=Q(kind="original") & ~Q(status="cancelled"), name="one_live_ruling_per_case"
            ),
            models.UniqueConstraint(
                fields=["corrects"], condition=~Q(status="cancelled"), name="one_live_correction_per_ruling"
            ),
        ]

    def __str__(self):
        return self.number

    def get_absolute_url(self):
        from django.urls import reverse

        return reverse("penalties:ruling_detail", kwargs={"pk": self.pk})

    @property
    def is_approved(self) -> bool:
        return self.status == self.Status.APPROVED

    @property
    def is_correction(self) -> bool:
        return self.kind != self.Kind.ORIGINAL


class PenaltyLine(models.Model):
    """One responsible party of a ruling: its share of the loss and its penalty.

    A party is a person or a department (exactly one). The proposal columns keep the criteria row
    that was used and its values as they were; the penalty columns are what stands after the GM
    office's adjustment (equal to the proposal when nobody adjusted). ``deduction`` is
    ``base_units × amount_per_unit`` rounded to the fen, negative on a reversal line.
    """

    ruling = models.ForeignKey(PenaltyRuling, verbose_name=_("ruling"), on_delete=models.CASCADE, related_name="lines")
    position = models.PositiveSmallIntegerField(default=0)
    person = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("person"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="penalty_lines",
    )
    department = models.ForeignKey(
        "servicedesk.OrgUnit",
        verbose_name=_("department"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="penalty_lines",
    )
    share_percent = models.DecimalField(
        _("share (%)"),
        max_digits=5,
        decimal_places=2,
        validators=[MinValueValidator(Decimal("0.01")), MaxValueValidator(HUNDRED)],
    )
    personal_negligence = models.BooleanField(_("personal negligence"), default=False)
    unattributable_reason = models.CharField(
        _("why no person can be named"),
        max_length=300,
        blank=True,
        help_text=_("Sales and service departments attribute to a person as a rule."),
    )
    loss_share = models.DecimalField(_("share of the loss (yuan)"), **MONEY, default=Decimal("0.00"))
    # The proposal, from the criteria row used (kept even if the table changes later).
    criteria_row = models.ForeignKey(
        CriteriaRow, verbose_name=_("criteria row"), null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    proposed_kind = models.ForeignKey(
        PenaltyKind,
        verbose_name=_("proposed kind"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    proposed_amount_per_unit = models.DecimalField(_("proposed per unit"), **MONEY, null=True, blank=True)
    proposed_base_units = models.DecimalField(
        _("proposed base units"), max_digits=6, decimal_places=2, null=True, blank=True
    )
    proposed_deduction = models.DecimalField(_("proposed deduction (yuan)"), **MONEY, null=True, blank=True)
    explanation = models.TextField(_("why"), blank=True)
    # What stands.
    penalty_kind = models.ForeignKey(
        PenaltyKind,
        verbose_name=_("penalty kind"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    amount_per_unit = models.DecimalField(_("deduction per base unit (yuan)"), **MONEY, null=True, blank=True)
    base_units = models.DecimalField(_("base units"), max_digits=6, decimal_places=2, null=True, blank=True)
    deduction = models.DecimalField(_("deduction (yuan)"), **MONEY, default=Decimal("0.00"))
    adjusted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("adjusted by"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    adjusted_at = models.DateTimeField(_("adjusted"), null=True, blank=True)
    adjust_reason = models.TextField(_("reason for the adjustment"), max_length=2000, blank=True)
    reverses = models.ForeignKey(
        "self", verbose_name=_("reverses"), null=True, blank=True, on_delete=models.PROTECT, related_name="reversals"
    )

    class Meta:
        verbose_name = _("penalty line")
        verbose_name_plural = _("penalty lines")
        ordering = ["ruling", "position", "id"]
        indexes = [
            models.Index(fields=["person", "ruling"], name="penaltyline_person_idx"),
            models.Index(fields=["department", "ruling"], name="penaltyline_department_idx"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(person__isnull=False, department__isnull=True)
                | Q(person__isnull=True, department__isnull=False),
                name="penaltyline_one_party",
            ),
            models.CheckConstraint(
                condition=Q(share_percent__gt=0) & Q(share_percent__lte=HUNDRED), name="penaltyline_share_range"
            ),
            models.CheckConstraint(
                condition=~Q(personal_negligence=True) | Q(person__isnull=False, share_percent=HUNDRED),
                name="penaltyline_negligence_bears_all",
            ),
            models.UniqueConstraint(
                fields=["ruling", "person"],
                condition=Q(reverses__isnull=True, person__isnull=False),
                name="one_line_per_person_and_ruling",
            ),
            models.UniqueConstraint(
                fields=["ruling", "department"],
                condition=Q(reverses__isnull=True, department__isnull=False),
                name="one_line_per_department_and_ruling",
            ),
        ]

    def __str__(self):
        return f"{self.ruling} · {self.party}"

    @property
    def party(self):
        return self.person if self.person_id else self.department

    @property
    def is_reversal(self) -> bool:
        return self.reverses_id is not None

    @property
    def is_adjusted(self) -> bool:
        return self.adjusted_by_id is not None


class AuditEntry(models.Model):
    """Who changed what, when, from which values to which: append-only (a trigger refuses UPDATE and DELETE)."""

    at = models.DateTimeField(_("when"), default=timezone.now)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("who"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    action = models.CharField(_("action"), max_length=48)
    entity = models.CharField(_("record"), max_length=48)
    object_id = models.PositiveBigIntegerField(_("record id"), null=True, blank=True)
    ruling = models.ForeignKey(
        PenaltyRuling, verbose_name=_("ruling"), null=True, blank=True, on_delete=models.PROTECT, related_name="audit"
    )
    # The unit whose record changed (for scoping); empty for the criteria table.
    unit = models.ForeignKey(
        "servicedesk.OrgUnit",
        verbose_name=_("unit"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    old_values = models.JSONField(_("old values"), null=True, blank=True)
    new_values = models.JSONField(_("new values"), null=True, blank=True)
    note = models.TextField(_("note"), blank=True)

    class Meta:
        verbose_name = _("audit entry")
        verbose_name_plural = _("penalties audit trail")
        ordering = ["-at", "-id"]
        indexes = [
            models.Index(fields=["unit", "at"], name="audit_unit_at_idx"),
            models.Index(fields=["ruling", "at"], name="audit_ruling_at_idx"),
        ]

    def __str__(self):
        return f"{self.at:%Y-%m-%d %H:%M} {self.action} {self.entity} {self.object_id or ''}"
