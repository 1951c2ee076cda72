"""Carry-in repairs that are charged (DOMAIN 2–3): the quote, the customer's approval, the fee at hand-back.

And the catalogue parts used on a repair card. Imported by ``repairs/models.py``.
"""

import base64
from decimal import Decimal

from django.conf import settings
from django.core.validators import MinValueValidator
from django.db import models
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class RepairCardPart(models.Model):
    """A catalogue part used on the bench for a repair card; taken from the technician's van when recorded."""

    card = models.ForeignKey(
        "repairs.RepairCard", verbose_name=_("repair card"), on_delete=models.CASCADE, related_name="parts_used"
    )
    part = models.ForeignKey("parts.Part", verbose_name=_("part"), on_delete=models.PROTECT, related_name="+")
    quantity = models.PositiveIntegerField(_("quantity"), validators=[MinValueValidator(1)])
    unit_price = models.DecimalField(_("unit price"), max_digits=10, decimal_places=2)
    used_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("used by"), on_delete=models.PROTECT, related_name="+"
    )
    used_at = models.DateTimeField(_("used"), default=timezone.now)

    class Meta:
        verbose_name = _("part used on a repair card")
        verbose_name_plural = _("parts used on repair cards")
        ordering = ["used_at", "id"]
        constraints = [
            models.CheckConstraint(condition=Q(quantity__gte=1), name="card_part_quantity_positive"),
        ]

    def __str__(self):
        return f"{self.part_id} × {self.quantity}"


class RepairQuote(models.Model):
    """The price of a carry-in repair the customer approves before the work (signature or recorded phone call)."""

    class Status(models.TextChoices):
        DRAFT = "draft", _("Draft, not yet approved")
        APPROVED = "approved", _("Approved by the customer")
        DECLINED = "declined", _("Declined by the customer")

    class Approval(models.TextChoices):
        SIGNATURE = "signature", _("Signed on the screen")
        PHONE = "phone", _("Approved by phone")

    TRANSITIONS = {
        Status.DRAFT: (Status.APPROVED, Status.DECLINED),
        Status.DECLINED: (Status.DRAFT,),
        Status.APPROVED: (),
    }

    number = models.CharField(_("quote number"), max_length=32, unique=True)
    unit = models.ForeignKey("servicedesk.OrgUnit", verbose_name=_("unit"), on_delete=models.PROTECT, related_name="+")
    card = models.OneToOneField(
        "repairs.RepairCard", verbose_name=_("repair card"), on_delete=models.PROTECT, related_name="quote"
    )
    labour_charge = models.DecimalField(
        _("labour charge"), max_digits=10, decimal_places=2, default=Decimal("0.00"), validators=[MinValueValidator(0)]
    )
    total = models.DecimalField(_("quote total"), max_digits=12, decimal_places=2, default=Decimal("0.00"))
    status = models.CharField(_("status"), max_length=16, choices=Status.choices, default=Status.DRAFT)
    approval_kind = models.CharField(_("approved how"), max_length=16, choices=Approval.choices, blank=True)
    approved_by_name = models.CharField(_("approved by (customer)"), max_length=100, blank=True)
    approval_signature_png = models.BinaryField(_("customer's signature"), null=True, blank=True, editable=False)
    approved_at = models.DateTimeField(_("approved"), null=True, blank=True)
    approval_recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("approval recorded by"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    # A supervisor may let the product go back with the approved quote unpaid (recorded with the reason).
    unpaid_release_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("released unpaid by"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    unpaid_release_at = models.DateTimeField(_("released unpaid"), null=True, blank=True)
    unpaid_release_reason = models.CharField(_("reason for the unpaid release"), max_length=300, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("created by"), on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    updated_at = models.DateTimeField(_("updated"), default=timezone.now)
    version = models.PositiveIntegerField(default=1)

    class Meta:
        verbose_name = _("repair quote")
        verbose_name_plural = _("repair quotes")
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(condition=Q(total__gte=0), name="quote_total_not_negative"),
        ]

    def __str__(self):
        return self.number

    def get_absolute_url(self):
        return reverse("repairs:quote", args=[self.card_id])

    @property
    def is_editable(self) -> bool:
        return self.status == self.Status.DRAFT

    @property
    def signature_data_uri(self) -> str:
        if not self.approval_signature_png:
            return ""
        return "data:image/png;base64," + base64.b64encode(bytes(self.approval_signature_png)).decode("ascii")


class RepairQuoteLine(models.Model):
    quote = models.ForeignKey(RepairQuote, verbose_name=_("quote"), on_delete=models.CASCADE, related_name="lines")
    part = models.ForeignKey("parts.Part", verbose_name=_("part"), on_delete=models.PROTECT, related_name="+")
    quantity = models.PositiveIntegerField(_("quantity"), validators=[MinValueValidator(1)])
    unit_price = models.DecimalField(_("unit price"), max_digits=10, decimal_places=2)

    class Meta:
        verbose_name = _("quote line")
        verbose_name_plural = _("quote lines")
        ordering = ["id"]
        constraints = [
            models.CheckConstraint(condition=Q(quantity__gte=1), name="quote_line_quantity_positive"),
            models.CheckConstraint(condition=Q(unit_price__gte=0), name="quote_line_price_not_negative"),
        ]

    def __str__(self):
        return f"{self.part_id} × {self.quantity}"

    @property
    def line_total(self) -> Decimal:
        return self.unit_price * self.quantity


class RepairCardFee(models.Model):
    """The approved quote's fee, collected by the clerk when the product is handed back (one per card).

    A sibling of ``FeeCollection`` (which belongs to a service voucher): a carry-in's fee is not a visit's.
    """

    card = models.OneToOneField(
        "repairs.RepairCard", verbose_name=_("repair card"), on_delete=models.PROTECT, related_name="fee"
    )
    quote = models.ForeignKey(RepairQuote, verbose_name=_("quote"), on_delete=models.PROTECT, related_name="+")
    unit = models.ForeignKey("servicedesk.OrgUnit", verbose_name=_("unit"), on_delete=models.PROTECT, related_name="+")
    amount = models.DecimalField(_("amount"), max_digits=12, decimal_places=2)
    receipt_number = models.CharField(_("receipt number"), max_length=64)
    collected_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("collected by"), on_delete=models.PROTECT, related_name="+"
    )
    collected_at = models.DateTimeField(_("collected"), default=timezone.now)

    class Meta:
        verbose_name = _("repair fee collected at hand-back")
        verbose_name_plural = _("repair fees collected at hand-back")
        ordering = ["collected_at", "id"]
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="card_fee_amount_positive"),
            models.UniqueConstraint(fields=["unit", "receipt_number"], name="one_card_fee_per_receipt_number"),
        ]

    def __str__(self):
        return f"{self.receipt_number}: {self.amount}"
