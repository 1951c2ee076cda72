"""Webhook subscriptions and their deliveries (issue 15): the outbox of the events other systems hear of."""

import secrets

from django.conf import settings
from django.core.validators import URLValidator
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


def new_secret() -> str:
    return "whsec_" + secrets.token_hex(32)


class WebhookSubscription(models.Model):
    name = models.CharField(_("name"), max_length=100)
    url = models.CharField(
        _("URL"), max_length=500, validators=[URLValidator(schemes=["http", "https"])], help_text=_("Where to POST")
    )
    events = models.JSONField(_("events"), default=list, help_text=_("The event names this URL hears of."))
    unit = models.ForeignKey(
        "servicedesk.OrgUnit",
        verbose_name=_("unit"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        help_text=_("Only this unit's events; empty: every unit's."),
    )
    # The shared secret of the HMAC-SHA256 signature; the receiver keeps a copy to check each request.
    secret = models.CharField(_("signing secret"), max_length=80, default=new_secret)
    is_active = models.BooleanField(_("active"), default=True)
    pause_after = models.PositiveSmallIntegerField(
        _("pause after failures"),
        default=10,
        help_text=_("Deliveries stop after this many failed attempts in a row, until an administrator resumes."),
    )
    consecutive_failures = models.PositiveIntegerField(_("failures in a row"), default=0, editable=False)
    paused_at = models.DateTimeField(_("paused"), null=True, blank=True, editable=False)
    created_at = models.DateTimeField(_("created"), default=timezone.now, editable=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("created by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        editable=False,
    )

    class Meta:
        verbose_name = _("webhook subscription")
        verbose_name_plural = _("webhook subscriptions")
        ordering = ["name", "id"]

    def __str__(self):
        return self.name


class WebhookDelivery(models.Model):
    """One event for one subscription, written in the transaction of the change; sent by the worker."""

    class Status(models.TextChoices):
        PENDING = "pending", _("Waiting to be sent")
        DELIVERED = "delivered", _("Delivered")
        FAILED = "failed", _("Given up")

    subscription = models.ForeignKey(
        WebhookSubscription, verbose_name=_("subscription"), on_delete=models.CASCADE, related_name="deliveries"
    )
    event_id = models.UUIDField(_("event id"))
    event_name = models.CharField(_("event"), max_length=40)
    # The JSON body exactly as sent: every retry sends the same bytes (and the same event id).
    body = models.TextField(_("body"))
    status = models.CharField(_("status"), max_length=12, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    next_attempt_at = models.DateTimeField(_("next attempt"))
    last_attempt_at = models.DateTimeField(_("last attempt"), null=True, blank=True)
    delivered_at = models.DateTimeField(_("delivered"), null=True, blank=True)
    last_status_code = models.PositiveSmallIntegerField(_("last answer"), null=True, blank=True)
    last_error = models.CharField(_("last error"), max_length=300, blank=True)
    created_at = models.DateTimeField(_("created"), default=timezone.now)

    class Meta:
        verbose_name = _("webhook delivery")
        verbose_name_plural = _("webhook deliveries")
        ordering = ["-created_at", "-id"]
        constraints = [
            # Each event reaches each subscription once: a second write of the same event is ignored.
            models.UniqueConstraint(fields=["subscription", "event_id"], name="webhookdelivery_once_per_event"),
        ]
        indexes = [
            # The sweep's one query: pending rows by due time.
            models.Index(
                fields=["next_attempt_at"],
                name="webhookdelivery_due_idx",
                condition=models.Q(status="pending"),
            ),
            models.Index(fields=["subscription", "-created_at"], name="webhookdelivery_log_idx"),
        ]

    def __str__(self):
        return f"{self.event_name} {self.event_id}"
