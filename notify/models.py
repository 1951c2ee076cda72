"""Who gets which notice on which channel, as data; and the postal list of notices that go by letter."""

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from servicedesk.roles import Role

from .topics import CUSTOMER_TOPICS, USER_TOPICS


class CustomerNoticePreference(models.Model):
    """How a customer hears from the desk. Without a row: e-mail, else SMS to a mobile, else a letter."""

    class Channel(models.TextChoices):
        AUTO = "auto", _("E-mail, else SMS, else letter")
        EMAIL = "email", _("E-mail")
        SMS = "sms", _("SMS")
        POST = "post", _("Letter (postal list)")
        NONE = "none", _("No notices")

    customer = models.OneToOneField(
        "repairs.Customer", verbose_name=_("customer"), on_delete=models.CASCADE, related_name="notice_preference"
    )
    channel = models.CharField(_("notices by"), max_length=8, choices=Channel.choices, default=Channel.AUTO)
    mobile = models.CharField(
        _("mobile for SMS"), max_length=20, blank=True, help_text=_("Leave empty to use the customer's phone.")
    )
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("customer notice preference")
        verbose_name_plural = _("customer notice preferences")

    def __str__(self):
        return f"{self.customer} · {self.get_channel_display()}"


def _user_topic_choices():
    return list(USER_TOPICS.items())


class NoticeRule(models.Model):
    """The channels a role hears of a topic by. In the app always; e-mail and SMS as the rule says.

    A user holding several roles gets a channel when any of their roles' rules gives it; a user's own
    setting (``UserNoticeSetting``) overrides their roles'. Without any row a notice goes by e-mail.
    """

    role = models.CharField(_("role"), max_length=32, choices=Role.choices)
    topic = models.CharField(_("notice"), max_length=64, choices=_user_topic_choices)
    by_email = models.BooleanField(_("by e-mail"), default=True)
    by_sms = models.BooleanField(_("by SMS"), default=False)

    class Meta:
        verbose_name = _("notice rule of a role")
        verbose_name_plural = _("notice rules of roles")
        ordering = ["role", "topic"]
        constraints = [models.UniqueConstraint(fields=["role", "topic"], name="notice_rule_role_topic_uniq")]

    def __str__(self):
        return f"{self.get_role_display()} · {self.get_topic_display()}"


class UserNoticeSetting(models.Model):
    """One person's own channels for a topic, overriding their roles' rules."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("user"), on_delete=models.CASCADE, related_name="notice_settings"
    )
    topic = models.CharField(_("notice"), max_length=64, choices=_user_topic_choices)
    by_email = models.BooleanField(_("by e-mail"), default=True)
    by_sms = models.BooleanField(_("by SMS"), default=False)

    class Meta:
        verbose_name = _("notice setting of a user")
        verbose_name_plural = _("notice settings of users")
        ordering = ["user", "topic"]
        constraints = [models.UniqueConstraint(fields=["user", "topic"], name="user_notice_setting_uniq")]

    def __str__(self):
        return f"{self.user} · {self.get_topic_display()}"


class PostalItem(models.Model):
    """A notice to a customer with neither e-mail nor a mobile (or who asked for letters): to print and post."""

    dedupe_key = models.CharField(max_length=200, unique=True)
    unit = models.ForeignKey("servicedesk.OrgUnit", verbose_name=_("unit"), on_delete=models.PROTECT, related_name="+")
    customer = models.ForeignKey(
        "repairs.Customer", verbose_name=_("customer"), on_delete=models.PROTECT, related_name="postal_items"
    )
    topic = models.CharField(_("notice"), max_length=64, choices=list(CUSTOMER_TOPICS.items()))
    subject = models.CharField(_("subject"), max_length=200)
    body = models.TextField(_("text"))
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    posted_at = models.DateTimeField(_("posted"), null=True, blank=True)
    posted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("posted by"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )

    class Meta:
        verbose_name = _("letter to post")
        verbose_name_plural = _("letters to post")
        ordering = ["created_at", "id"]
        permissions = [("post_letters", _("Can mark letters of the postal list as posted"))]
        indexes = [
            models.Index(fields=["unit", "created_at"], name="postal_pending_idx", condition=models.Q(posted_at=None))
        ]

    def __str__(self):
        return f"{self.customer} · {self.subject}"
