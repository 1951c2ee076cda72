"""Parts management (DOMAIN 2, the standard's fragment on parts): the catalogue, stock per unit and per van.

Stock rows change only in ``parts/services.py``, under a row lock; every change is a ``StockMovement``.
Parts sits below repairs: a part used on a voucher or a repair card names it by kind and id, not by a key.
"""

from decimal import Decimal

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

DEFAULT_PRICE_TOLERANCE = Decimal("10.00")


class Part(models.Model):
    """A catalogue part: its number, name and the price charged for it."""

    part_number = models.CharField(_("part number"), max_length=64, unique=True)
    name = models.CharField(_("name"), max_length=200)
    unit_price = models.DecimalField(
        _("unit price"), max_digits=10, decimal_places=2, validators=[MinValueValidator(Decimal("0"))]
    )
    warranty_free = models.BooleanField(
        _("free under warranty"),
        default=True,
        help_text=_("Charged nothing when the service is free (warranty or contract); off for consumables."),
    )
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("part")
        verbose_name_plural = _("parts catalogue")
        ordering = ["part_number"]
        permissions = [
            ("manage_stock", _("Can receive, issue, take back and count parts")),
            ("override_part_price", _("Can change a part's price on a voucher within the tolerance")),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(unit_price__gte=0), name="part_price_not_negative"),
        ]

    def __str__(self):
        return f"{self.part_number} {self.name}"


class Stock(models.Model):
    """How many of a part one place holds: a unit's store (no technician) or a technician's van."""

    part = models.ForeignKey(Part, verbose_name=_("part"), on_delete=models.PROTECT, related_name="stock")
    unit = models.ForeignKey("servicedesk.OrgUnit", verbose_name=_("unit"), on_delete=models.PROTECT, related_name="+")
    technician = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("technician's van"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    quantity = models.IntegerField(_("quantity"), default=0)

    class Meta:
        verbose_name = _("stock")
        verbose_name_plural = _("stock")
        ordering = ["unit", "technician", "part"]
        constraints = [
            models.CheckConstraint(condition=Q(quantity__gte=0), name="stock_never_negative"),
            models.UniqueConstraint(
                fields=["part", "unit"], condition=Q(technician__isnull=True), name="one_store_row_per_part_and_unit"
            ),
            models.UniqueConstraint(
                fields=["part", "technician"],
                condition=Q(technician__isnull=False),
                name="one_van_row_per_part_and_technician",
            ),
        ]
        indexes = [models.Index(fields=["unit", "technician"], name="stock_place_idx")]

    def __str__(self):
        return f"{self.part.part_number} × {self.quantity}"


class StockMinimum(models.Model):
    """The quantity below which a unit's store is listed as low on a part (data, per part and unit)."""

    part = models.ForeignKey(Part, verbose_name=_("part"), on_delete=models.CASCADE, related_name="minimums")
    unit = models.ForeignKey("servicedesk.OrgUnit", verbose_name=_("unit"), on_delete=models.CASCADE, related_name="+")
    minimum_quantity = models.PositiveIntegerField(_("minimum in store"))

    class Meta:
        verbose_name = _("minimum stock")
        verbose_name_plural = _("minimum stock")
        ordering = ["unit", "part"]
        constraints = [models.UniqueConstraint(fields=["part", "unit"], name="one_minimum_per_part_and_unit")]

    def __str__(self):
        return f"{self.part.part_number} ≥ {self.minimum_quantity}"


class PriceTolerance(models.Model):
    """How far a supervisor may move a catalogue price on a voucher or a quote (per unit, or the default row)."""

    unit = models.OneToOneField(
        "servicedesk.OrgUnit",
        verbose_name=_("unit"),
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="+",
        help_text=_("Leave empty for the default of every unit without its own row."),
    )
    percent = models.DecimalField(
        _("tolerance (%)"),
        max_digits=5,
        decimal_places=2,
        default=DEFAULT_PRICE_TOLERANCE,
        validators=[MinValueValidator(Decimal("0")), MaxValueValidator(Decimal("100"))],
    )

    class Meta:
        verbose_name = _("part price tolerance")
        verbose_name_plural = _("part price tolerances")
        constraints = [
            models.UniqueConstraint(
                models.functions.Coalesce("unit", models.Value(0)), name="one_price_tolerance_per_unit_or_default"
            ),
            models.CheckConstraint(condition=Q(percent__gte=0, percent__lte=100), name="price_tolerance_in_range"),
        ]

    def __str__(self):
        return f"{self.unit or _('Default for all units')}: ±{self.percent} %"


class StockMovement(models.Model):
    """One change of stock: who moved how many of which part, from where to where, when and why."""

    class Kind(models.TextChoices):
        RECEIVED = "received", _("Received into the store")
        ISSUED = "issued", _("Issued to a technician")
        RETURNED = "returned", _("Returned to the store")
        USED = "used", _("Used")
        USE_UNDONE = "use_undone", _("Given back to the van by a correction")
        COUNTED = "counted", _("Counted")

    class Reference(models.TextChoices):
        NONE = "", _("No reference")
        VOUCHER = "voucher", _("Service voucher")
        REPAIR_CARD = "repair_card", _("Repair card")

    kind = models.CharField(_("movement"), max_length=16, choices=Kind.choices)
    part = models.ForeignKey(Part, verbose_name=_("part"), on_delete=models.PROTECT, related_name="movements")
    unit = models.ForeignKey("servicedesk.OrgUnit", verbose_name=_("unit"), on_delete=models.PROTECT, related_name="+")
    technician = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("technician"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    # Moved: how many; counted: the quantity found. ``difference`` is the change to the place counted.
    quantity = models.PositiveIntegerField(_("quantity"))
    difference = models.IntegerField(_("difference"), default=0)
    unit_price = models.DecimalField(_("unit price"), max_digits=10, decimal_places=2, default=Decimal("0.00"))
    reason = models.CharField(_("reason"), max_length=300, blank=True)
    reference_kind = models.CharField(
        _("used on"), max_length=16, choices=Reference.choices, blank=True, default=Reference.NONE
    )
    reference_id = models.PositiveBigIntegerField(_("used on (id)"), null=True, blank=True)
    reference_text = models.CharField(_("used on (number)"), max_length=64, blank=True)
    by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("by"), on_delete=models.PROTECT, related_name="+")
    at = models.DateTimeField(_("when"), default=timezone.now)

    class Meta:
        verbose_name = _("stock movement")
        verbose_name_plural = _("stock movements")
        ordering = ["-at", "-id"]
        constraints = [models.CheckConstraint(condition=Q(quantity__gte=0), name="movement_quantity_not_negative")]
        indexes = [
            models.Index(fields=["unit", "at"], name="movement_unit_at_idx"),
            models.Index(fields=["reference_kind", "reference_id"], name="movement_reference_idx"),
        ]

    def __str__(self):
        return f"{self.get_kind_display()}: {self.part.part_number} × {self.quantity}"

    @property
    def amount(self) -> Decimal:
        return self.unit_price * self.quantity
