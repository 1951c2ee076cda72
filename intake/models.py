"""Inbound e-mail (issue 15): every message read from the desk's mailbox, once, and what became of it.

A message becomes a repair call (a known sender), a reply on a call or a complaint case (its number in the
subject), waits in the "to be matched" queue for a dispatcher (an unknown sender), or waits in quarantine with
its reason (a message that cannot be read or is too large). Nothing is dropped: the row is written in the
transaction that does the work, and the message is marked on the server only after that commit.
"""

from django.conf import settings
from django.db import models
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class InboundMessage(models.Model):
    class Status(models.TextChoices):
        CALL_LOGGED = "call_logged", _("Logged as a repair call")
        REPLY = "reply", _("Recorded as a reply")
        TO_MATCH = "to_match", _("To be matched")
        MATCHED = "matched", _("Matched and logged")
        QUARANTINED = "quarantined", _("Quarantined")

    class Reason(models.TextChoices):
        MALFORMED = "malformed", _("The message cannot be read")
        NO_SENDER = "no_sender", _("The message has no sender address")
        TOO_LARGE = "too_large", _("The message is larger than the limit")
        FAILED = "failed", _("The message could not be turned into a call")

    class Match(models.TextChoices):
        UNKNOWN_SENDER = "unknown_sender", _("The sender's address belongs to no customer")
        SEVERAL_CUSTOMERS = "several_customers", _("The sender's address belongs to several customers")
        CHOOSE_SITE = "choose_site", _("The customer has several sites (or none): choose the site")

    # A dispatcher resolves a message of the queue once; the other states are final.
    TRANSITIONS = {
        Status.TO_MATCH: (Status.MATCHED,),
        Status.CALL_LOGGED: (),
        Status.REPLY: (),
        Status.MATCHED: (),
        Status.QUARANTINED: (),
    }

    # "mid:<Message-ID>", or a hash of the headers and size for a message without one: each message once.
    dedupe_key = models.CharField(max_length=200, unique=True, editable=False)
    message_id = models.CharField(_("Message-ID"), max_length=300, blank=True)
    from_address = models.CharField(_("from"), max_length=254, blank=True)
    from_name = models.CharField(_("sender's name"), max_length=200, blank=True)
    subject = models.CharField(_("subject"), max_length=300, blank=True)
    body = models.TextField(_("text"), max_length=20000, blank=True)
    received_at = models.DateTimeField(_("received"))
    size = models.PositiveIntegerField(_("size (bytes)"))
    folder = models.CharField(_("folder"), max_length=200, blank=True)
    uid = models.PositiveBigIntegerField(_("IMAP UID"), null=True, blank=True)
    status = models.CharField(_("status"), max_length=16, choices=Status.choices)
    # Who sees it: the unit of its customer, call or case; for an unknown sender, the unit the mailbox serves
    # (SERVICEDESK_IMAP_UNIT), else head office only.
    unit = models.ForeignKey(
        "servicedesk.OrgUnit", verbose_name=_("unit"), null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    customer = models.ForeignKey(
        "repairs.Customer",
        verbose_name=_("customer"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="inbound_messages",
    )
    call = models.ForeignKey(
        "repairs.RepairCall",
        verbose_name=_("repair call"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="inbound_messages",
    )
    case = models.ForeignKey(
        "complaints.ComplaintCase",
        verbose_name=_("complaint case"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="inbound_messages",
    )
    match_reason = models.CharField(_("why it waits"), max_length=24, choices=Match.choices, blank=True)
    quarantine_reason = models.CharField(_("quarantined because"), max_length=16, choices=Reason.choices, blank=True)
    quarantine_detail = models.TextField(_("detail"), max_length=2000, blank=True)
    # A quarantined message as it came (a too-large one: its header only; the whole stays on the server).
    raw = models.BinaryField(null=True, blank=True, editable=False)
    processed_at = models.DateTimeField(_("processed"), default=timezone.now)
    matched_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("matched by"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    matched_at = models.DateTimeField(_("matched"), null=True, blank=True)
    version = models.PositiveIntegerField(default=1)

    class Meta:
        verbose_name = _("inbound e-mail")
        verbose_name_plural = _("inbound e-mails")
        ordering = ["-received_at", "-id"]
        permissions = [
            ("match_inboundmessage", _("Can match an inbound e-mail to a customer and log it as a call")),
            ("view_quarantine", _("Can see the quarantined inbound e-mails")),
        ]
        indexes = [
            # The queue and the quarantine list of a unit (and of every unit), newest first.
            models.Index(fields=["status", "unit", "received_at", "id"], name="inbound_status_unit_idx"),
            models.Index(fields=["status", "received_at", "id"], name="inbound_status_idx"),
        ]

    def __str__(self):
        return self.subject or self.message_id or str(self.pk)

    def get_absolute_url(self):
        return reverse("intake:message", args=[self.pk])


class InboundAttachment(models.Model):
    """A file that came with a message: kept (outside the web root) under the complaint attachments' rules,
    or recorded as refused with the reason."""

    message = models.ForeignKey(
        InboundMessage, verbose_name=_("inbound e-mail"), on_delete=models.CASCADE, related_name="attachments"
    )
    original_name = models.CharField(_("file name"), max_length=200)
    content_type = models.CharField(max_length=100, blank=True)
    size = models.PositiveIntegerField(_("size (bytes)"))
    stored_name = models.CharField(max_length=200, unique=True, null=True, blank=True, editable=False)
    refused_reason = models.CharField(_("refused because"), max_length=300, blank=True)

    class Meta:
        verbose_name = _("e-mail attachment")
        verbose_name_plural = _("e-mail attachments")
        ordering = ["id"]

    def __str__(self):
        return self.original_name

    @property
    def is_kept(self) -> bool:
        return bool(self.stored_name)
