"""The customer portal's sign-in credentials: a one-time link by e-mail or a 6-digit code by SMS (DOMAIN 11).

Each credential is a row: the secret itself is never stored, only its keyed hash; a row works once
(``used_at``), until ``expires_at``, and a code only for a bounded number of wrong tries (``attempts``).
"""

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class SignInRequest(models.Model):
    class Method(models.TextChoices):
        LINK = "link", _("Link by e-mail")
        CODE = "code", _("Code by SMS")

    contact = models.ForeignKey(
        "repairs.CustomerContact", verbose_name=_("contact person"), on_delete=models.CASCADE, related_name="+"
    )
    method = models.CharField(_("sent as"), max_length=8, choices=Method.choices)
    secret_hash = models.CharField(max_length=64, editable=False)
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    expires_at = models.DateTimeField(_("expires"))
    used_at = models.DateTimeField(_("used"), null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(_("wrong codes entered"), default=0)

    class Meta:
        verbose_name = _("portal sign-in")
        verbose_name_plural = _("portal sign-ins")
        indexes = [models.Index(fields=["contact", "created_at"], name="portal_signin_contact_idx")]

    def __str__(self):
        return f"{self.get_method_display()} {self.created_at:%Y-%m-%d %H:%M}"
