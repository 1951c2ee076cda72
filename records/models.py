"""Saved views: a named combination of filters of a list page, a user's default, shared with the unit."""

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class SavedView(models.Model):
    class Page(models.TextChoices):
        BOARD = "board", _("Dispatch board")
        CALLS = "calls", _("Call history")

    name = models.CharField(_("name"), max_length=80)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("owner"), on_delete=models.CASCADE, related_name="saved_views"
    )
    # The owner's unit when saved: a shared view is offered to this unit's users.
    unit = models.ForeignKey(
        "servicedesk.OrgUnit",
        verbose_name=_("unit"),
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="+",
    )
    page = models.CharField(_("page"), max_length=16, choices=Page.choices)
    # The page's query string (filters only, validated by the page's filter form when saved).
    querystring = models.CharField(_("filters"), max_length=1000, blank=True)
    shared = models.BooleanField(_("shared with my unit"), default=False)
    created_at = models.DateTimeField(_("created"), default=timezone.now)

    class Meta:
        verbose_name = _("saved view")
        verbose_name_plural = _("saved views")
        ordering = ["name", "id"]
        constraints = [
            models.UniqueConstraint(fields=["owner", "page", "name"], name="saved_view_name_once"),
        ]
        indexes = [
            models.Index(fields=["unit", "page"], name="saved_view_unit_page_idx", condition=models.Q(shared=True))
        ]

    def __str__(self):
        return self.name


class DefaultView(models.Model):
    """The view a user's page opens with when it has no filters: their own or one shared with their unit."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    page = models.CharField(_("page"), max_length=16, choices=SavedView.Page.choices)
    view = models.ForeignKey(SavedView, on_delete=models.CASCADE, related_name="defaults")

    class Meta:
        verbose_name = _("default view")
        verbose_name_plural = _("default views")
        constraints = [models.UniqueConstraint(fields=["user", "page"], name="default_view_once_per_page")]

    def __str__(self):
        return f"{self.user_id} {self.page}: {self.view_id}"
