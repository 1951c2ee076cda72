"""Per-user API tokens (issue 15).

A token is 256 random bits shown to its owner once; only its SHA-256 digest is stored. A slow password hash
(PBKDF2, Argon2) guards guessable secrets; a random 256-bit token cannot be guessed, so one digest is as safe
and lets each request find its token with one indexed look-up instead of hashing against every row.
"""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class ApiToken(models.Model):
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("user"), on_delete=models.CASCADE, related_name="api_tokens"
    )
    name = models.CharField(_("name"), max_length=100, help_text=_("What the token is for (the system using it)."))
    # The first characters of the token, kept so that its owner recognises it in a list; never enough to use it.
    prefix = models.CharField(_("begins with"), max_length=12)
    digest = models.CharField(_("SHA-256 digest"), max_length=64, unique=True, editable=False)
    created_at = models.DateTimeField(_("created"))
    expires_at = models.DateTimeField(_("expires"))
    revoked_at = models.DateTimeField(_("revoked"), null=True, blank=True)
    revoked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("revoked by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    last_used_at = models.DateTimeField(_("last used"), null=True, blank=True)

    class Meta:
        verbose_name = _("API token")
        verbose_name_plural = _("API tokens")
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["user", "-created_at"], name="apitoken_user_created_idx")]

    def __str__(self):
        return f"{self.name} ({self.prefix}…)"

    def is_usable(self, *, now) -> bool:
        return self.revoked_at is None and now < self.expires_at
