"""Customer opinion survey cards and customer opinions (DOMAIN sections 5 and 6).

A survey card is issued for every repair call of the day (clause 二十四); its
answer rates the technician (clause 二十五) and may carry a suggestion or a
complaint in the customer's words, which becomes a ``CustomerOpinion`` for the
service department (clause 二十三). The complaint workflow builds on that record.
"""

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Value
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from servicedesk.models import NamedInLanguages, name_en_field
from servicedesk.roles import Role

RATING_VALIDATORS = [MinValueValidator(1), MaxValueValidator(5)]


class SurveyPolicy(models.Model):
    """How long a card's private link works; one row per unit, the row without a unit is the default."""

    unit = models.OneToOneField(
        "servicedesk.OrgUnit",
        verbose_name=_("unit"),
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="survey_policy",
        help_text=_("Leave empty for the default that applies to every unit without its own row."),
    )
    link_valid_days = models.PositiveSmallIntegerField(
        _("link valid for (days)"),
        default=30,
        validators=[MinValueValidator(1), MaxValueValidator(366)],
        help_text=_("Days after the card is issued during which the customer can answer online."),
    )

    class Meta:
        verbose_name = _("survey policy")
        verbose_name_plural = _("survey policies")
        constraints = [
            # The unit is unique already; this makes the default (no unit) row unique too.
            models.UniqueConstraint(Coalesce("unit", Value(0)), name="one_survey_policy_per_unit_or_default"),
        ]

    def __str__(self):
        return str(self.unit) if self.unit_id else str(_("Default"))


class SurveyBatch(models.Model):
    """The cards of one unit and one day, printed together for mailing."""

    unit = models.ForeignKey(
        "servicedesk.OrgUnit", verbose_name=_("unit"), on_delete=models.PROTECT, related_name="survey_batches"
    )
    day = models.DateField(_("day of the calls"))
    created_at = models.DateTimeField(_("created"), default=timezone.now)

    class Meta:
        verbose_name = _("survey card batch")
        verbose_name_plural = _("survey card batches")
        ordering = ["-day", "unit"]
        constraints = [models.UniqueConstraint(fields=["unit", "day"], name="one_survey_batch_per_unit_day")]

    def __str__(self):
        return f"{self.unit} {self.day:%Y-%m-%d}"


class SurveyCard(models.Model):
    """Clause 二十四: one card per repair call, no sampling (the unique call enforces once)."""

    class Status(models.TextChoices):
        ISSUED = "issued", _("Issued")
        ANSWERED = "answered", _("Answered")

    class Channel(models.TextChoices):
        PAPER = "paper", _("Paper card")
        ONLINE = "online", _("Online link")

    TRANSITIONS = {
        Status.ISSUED: (Status.ANSWERED,),
        Status.ANSWERED: (),
    }

    call = models.OneToOneField(
        "repairs.RepairCall", verbose_name=_("repair call"), on_delete=models.PROTECT, related_name="survey_card"
    )
    batch = models.ForeignKey(SurveyBatch, verbose_name=_("batch"), on_delete=models.PROTECT, related_name="cards")
    unit = models.ForeignKey(
        "servicedesk.OrgUnit", verbose_name=_("unit"), on_delete=models.PROTECT, related_name="survey_cards"
    )
    customer = models.ForeignKey(
        "repairs.Customer", verbose_name=_("customer"), on_delete=models.PROTECT, related_name="survey_cards"
    )
    survey_day = models.DateField(_("day of the call"))
    # The private link's secret; compared in constant time. Kept readable so a
    # batch can be printed again (only the unit's staff can read it).
    token = models.CharField(max_length=64, editable=False)
    link_expires_at = models.DateTimeField(_("link expires"))
    status = models.CharField(_("status"), max_length=16, choices=Status.choices, default=Status.ISSUED)
    rating_attitude = models.PositiveSmallIntegerField(
        _("attitude"), null=True, blank=True, validators=RATING_VALIDATORS
    )
    rating_technique = models.PositiveSmallIntegerField(
        _("technique"), null=True, blank=True, validators=RATING_VALIDATORS
    )
    rating_arrival = models.PositiveSmallIntegerField(
        _("arrival time"), null=True, blank=True, validators=RATING_VALIDATORS
    )
    rating_follow_through = models.PositiveSmallIntegerField(
        _("follow-through on promises"), null=True, blank=True, validators=RATING_VALIDATORS
    )
    opinion_text = models.TextField(_("suggestions or complaints"), max_length=2000, blank=True)
    answered_at = models.DateTimeField(_("answered"), null=True, blank=True)
    answer_channel = models.CharField(_("answered by"), max_length=16, choices=Channel.choices, blank=True)
    answered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("entered by"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    updated_at = models.DateTimeField(_("updated"), default=timezone.now)
    version = models.PositiveIntegerField(default=1)

    RATING_FIELDS = ("rating_attitude", "rating_technique", "rating_arrival", "rating_follow_through")

    class Meta:
        verbose_name = _("survey card")
        verbose_name_plural = _("survey cards")
        ordering = ["-survey_day", "id"]
        permissions = [
            ("enter_survey_answer", _("Can enter the answers of returned paper survey cards")),
            ("print_survey_cards", _("Can print survey card batches for mailing")),
            ("view_appraisal", _("Can see the technicians' monthly appraisal")),
        ]
        indexes = [
            models.Index(fields=["unit", "survey_day"], name="surveycard_unit_day_idx"),
            models.Index(fields=["batch", "id"], name="surveycard_batch_idx"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=(models.Q(rating_attitude__isnull=True) | models.Q(rating_attitude__range=(1, 5)))
                & (models.Q(rating_technique__isnull=True) | models.Q(rating_technique__range=(1, 5)))
                & (models.Q(rating_arrival__isnull=True) | models.Q(rating_arrival__range=(1, 5)))
                & (models.Q(rating_follow_through__isnull=True) | models.Q(rating_follow_through__range=(1, 5))),
                name="survey_ratings_one_to_five",
            ),
        ]

    def __str__(self):
        return self.display_number

    @property
    def display_number(self) -> str:
        return f"{self.pk:06d}" if self.pk else "—"

    def is_link_expired(self, *, now) -> bool:
        return now >= self.link_expires_at


class CustomerOpinion(models.Model):
    """A customer's suggestion or complaint for the service department (clauses 二十三, 二十六).

    Recorded from a survey card, a phone call, a letter or a visit. The
    complaint-handling workflow (routing by severity, the supervisor's visit,
    cases) extends this record.
    """

    class Kind(models.TextChoices):
        SUGGESTION = "suggestion", _("Suggestion")
        COMPLAINT = "complaint", _("Complaint")

    class Severity(models.TextChoices):
        GENERAL = "general", _("General")
        SERIOUS = "serious", _("Serious")

    class Source(models.TextChoices):
        SURVEY_CARD = "survey_card", _("Survey card")
        PHONE = "phone", _("Phone")
        LETTER = "letter", _("Letter")
        VISIT = "visit", _("Visit")
        PORTAL = "portal", _("Customer portal")

    class Status(models.TextChoices):
        NEW = "new", _("New")
        ACKNOWLEDGED = "acknowledged", _("Acknowledged")
        FORWARDED = "forwarded", _("Forwarded")
        RESOLVED = "resolved", _("Handled")
        CLOSED = "closed", _("Closed")

    class Queue(models.TextChoices):
        # Clause 二十六: serious ones go to the deputy general manager, general ones stay with the service department.
        DEPUTY_GM = "deputy_gm", _("Deputy general manager")
        SERVICE_DEPARTMENT = "service_department", _("Service department")

    TRANSITIONS = {
        Status.NEW: (Status.ACKNOWLEDGED, Status.FORWARDED, Status.RESOLVED),
        Status.ACKNOWLEDGED: (Status.FORWARDED, Status.RESOLVED),
        Status.FORWARDED: (Status.RESOLVED,),
        Status.RESOLVED: (Status.CLOSED,),
        Status.CLOSED: (),
    }

    unit = models.ForeignKey(
        "servicedesk.OrgUnit", verbose_name=_("unit"), on_delete=models.PROTECT, related_name="customer_opinions"
    )
    customer = models.ForeignKey(
        "repairs.Customer", verbose_name=_("customer"), on_delete=models.PROTECT, related_name="opinions"
    )
    call = models.ForeignKey(
        "repairs.RepairCall",
        verbose_name=_("repair call"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="opinions",
    )
    technician = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("technician"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="opinions_about",
    )
    survey_card = models.OneToOneField(
        SurveyCard,
        verbose_name=_("survey card"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="opinion",
    )
    kind = models.CharField(_("kind"), max_length=16, choices=Kind.choices)
    # Set by the service department, never by the customer (clause 二十六).
    severity = models.CharField(_("severity"), max_length=16, choices=Severity.choices, default=Severity.GENERAL)
    source = models.CharField(_("source"), max_length=16, choices=Source.choices)
    text = models.TextField(_("in the customer's words"), max_length=4000)
    received_at = models.DateTimeField(_("received"))
    status = models.CharField(_("status"), max_length=16, choices=Status.choices, default=Status.NEW)
    queue = models.CharField(
        _("handled by"), max_length=24, choices=Queue.choices, default=Queue.SERVICE_DEPARTMENT, editable=False
    )
    # Clause 二十八: once the customer complained, the supervisor's follow-up is owed, even if the deputy GM
    # later reclassifies it as a suggestion. Never cleared.
    complained = models.BooleanField(_("the customer complained"), default=False, editable=False)
    forwarded_to = models.ForeignKey(
        "servicedesk.OrgUnit",
        verbose_name=_("forwarded to"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    outcome = models.TextField(_("how it was handled"), max_length=4000, blank=True)
    resolved_at = models.DateTimeField(_("handled"), null=True, blank=True)
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("handled by"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    # Clause 二十六: a serious one is answered by letter (函告); the number is given when it is handled.
    letter_number = models.CharField(_("letter number"), max_length=32, blank=True)
    closed_at = models.DateTimeField(_("closed"), null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("recorded by"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    updated_at = models.DateTimeField(_("updated"), default=timezone.now)
    version = models.PositiveIntegerField(default=1)

    class Meta:
        verbose_name = _("customer opinion")
        verbose_name_plural = _("customer opinions")
        ordering = ["-received_at", "-id"]
        permissions = [
            ("acknowledge_opinion", _("Can acknowledge customers' suggestions and complaints")),
            ("record_opinion", _("Can record a suggestion or complaint received by phone, letter or visit")),
            ("handle_opinion", _("Can handle general suggestions and complaints")),
            ("handle_serious_opinion", _("Can review, forward and handle serious complaints")),
            ("record_follow_up", _("Can record the supervisor's personal follow-up with a complaining customer")),
        ]
        indexes = [
            models.Index(fields=["unit", "received_at"], name="opinion_unit_received_idx"),
            models.Index(fields=["queue", "status", "received_at"], name="opinion_queue_idx"),
            models.Index(fields=["technician", "kind", "received_at"], name="opinion_technician_idx"),
            models.Index(fields=["status", "received_at"], name="opinion_status_idx"),
        ]

    def __str__(self):
        return f"{self.get_kind_display()} · {self.customer_id} · {self.received_at:%Y-%m-%d}"


class TechnicianMonth(models.Model):
    """The month-end appraisal of one technician in one unit (clause 二十三), kept as sums.

    Written by the nightly month-end job for closed months (recomputed while late
    cards can still arrive), so the page and its twelve-month charts read a few
    hundred stored rows instead of a year of calls. Sums and counts, not
    averages: months and technicians add up exactly.
    """

    unit = models.ForeignKey("servicedesk.OrgUnit", verbose_name=_("unit"), on_delete=models.CASCADE, related_name="+")
    technician = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("technician"), on_delete=models.CASCADE, related_name="+"
    )
    month = models.DateField(_("month"))
    calls_handled = models.PositiveIntegerField(default=0)
    calls_due = models.PositiveIntegerField(default=0)
    attended_in_time = models.PositiveIntegerField(default=0)
    cards_issued = models.PositiveIntegerField(default=0)
    cards_answered = models.PositiveIntegerField(default=0)
    sum_attitude = models.PositiveIntegerField(default=0)
    n_attitude = models.PositiveIntegerField(default=0)
    sum_technique = models.PositiveIntegerField(default=0)
    n_technique = models.PositiveIntegerField(default=0)
    sum_arrival = models.PositiveIntegerField(default=0)
    n_arrival = models.PositiveIntegerField(default=0)
    sum_follow_through = models.PositiveIntegerField(default=0)
    n_follow_through = models.PositiveIntegerField(default=0)
    complaints = models.PositiveIntegerField(default=0)
    computed_at = models.DateTimeField(_("computed"), default=timezone.now)

    class Meta:
        verbose_name = _("technician's month")
        verbose_name_plural = _("technicians' months")
        constraints = [
            models.UniqueConstraint(fields=["unit", "month", "technician"], name="one_appraisal_row_per_month"),
        ]

    def __str__(self):
        return f"{self.month:%Y-%m} {self.technician_id}"


# --- Complaints: the supervisor's follow-up and complaint cases (DOMAIN sections 6 and 7) ---------------------------


class OpinionFollowUp(models.Model):
    """Clause 二十八: the unit's service supervisor follows up every complaining customer in person."""

    class Method(models.TextChoices):
        VISIT = "visit", _("Visit in person")
        PHONE = "phone", _("Phone call")
        OTHER = "other", _("Other")

    opinion = models.ForeignKey(
        CustomerOpinion, verbose_name=_("complaint"), on_delete=models.CASCADE, related_name="follow_ups"
    )
    supervisor = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("service supervisor"), on_delete=models.PROTECT, related_name="+"
    )
    followed_up_at = models.DateTimeField(_("when"))
    method = models.CharField(_("how"), max_length=16, choices=Method.choices, default=Method.VISIT)
    summary = models.TextField(_("what was said"), max_length=4000)
    created_at = models.DateTimeField(_("recorded"), default=timezone.now)

    class Meta:
        verbose_name = _("supervisor's follow-up")
        verbose_name_plural = _("supervisors' follow-ups")
        ordering = ["followed_up_at", "id"]

    def __str__(self):
        return f"{self.opinion_id} · {self.followed_up_at:%Y-%m-%d}"


class FollowUpPolicy(models.Model):
    """Clause 二十八 per unit: whether a phone call may count as the supervisor's follow-up (default: no)."""

    unit = models.OneToOneField(
        "servicedesk.OrgUnit", verbose_name=_("unit"), on_delete=models.CASCADE, related_name="follow_up_policy"
    )
    phone_counts = models.BooleanField(
        _("a phone call counts as the follow-up"),
        default=False,
        help_text=_(
            "The standard asks for a visit in person. Tick only where the unit's customers cannot be visited; "
            "without a row a phone call is recorded but does not count."
        ),
    )

    class Meta:
        verbose_name = _("follow-up setting")
        verbose_name_plural = _("follow-up settings")

    def __str__(self):
        return str(self.unit)


class CauseCategory(NamedInLanguages, models.Model):
    """Why a complaint happened, as quality management's investigation classifies it (penalty criteria key)."""

    code = models.SlugField(_("code"), max_length=32, unique=True)
    name = models.CharField(_("name"), max_length=100)
    name_en = name_en_field()
    is_active = models.BooleanField(_("active"), default=True)
    sort_order = models.PositiveSmallIntegerField(_("order"), default=0)

    class Meta:
        verbose_name = _("cause category")
        verbose_name_plural = _("cause categories")
        ordering = ["sort_order", "code"]

    def __str__(self):
        return self.label


class ApprovalAuthority(models.Model):
    """核决权限: which role approves a case's comprehensive opinion, by its claimed amount.

    A bracket covers ``min_amount`` (inclusive) up to ``max_amount`` (exclusive; empty: no upper limit).
    """

    min_amount = models.DecimalField(_("from amount (yuan, inclusive)"), max_digits=14, decimal_places=2)
    max_amount = models.DecimalField(_("below amount (yuan)"), max_digits=14, decimal_places=2, null=True, blank=True)
    role = models.CharField(_("approving role"), max_length=32)

    class Meta:
        verbose_name = _("approval authority")
        verbose_name_plural = _("approval authority table")
        ordering = ["min_amount"]
        constraints = [
            models.UniqueConstraint(fields=["min_amount"], name="one_approval_bracket_per_lower_bound"),
            models.CheckConstraint(
                condition=models.Q(max_amount__isnull=True) | models.Q(max_amount__gt=models.F("min_amount")),
                name="approval_bracket_not_empty",
            ),
            models.CheckConstraint(condition=models.Q(min_amount__gte=0), name="approval_bracket_not_negative"),
        ]

    def __str__(self):
        upper = self.max_amount if self.max_amount is not None else "∞"
        return f"{self.min_amount} – {upper}: {self.role}"


class RoleRank(models.Model):
    """核决权限 by rank: a role of higher rank may approve whatever a role of lower (or equal) rank may."""

    # No choices on the column (roles are code, their list grows): the admin form offers them.
    role = models.CharField(_("role"), max_length=32, unique=True)
    rank = models.PositiveSmallIntegerField(_("rank"), help_text=_("Higher approves whatever a lower rank may."))

    class Meta:
        verbose_name = _("role rank")
        verbose_name_plural = _("role ranks (approval authority)")
        ordering = ["rank", "role"]

    def __str__(self):
        label = Role(self.role).label if self.role in Role.values else self.role
        return f"{label} · {self.rank}"


class StageDeadline(models.Model):
    """各单位处理期限: working days each stage's owner has (the comprehensive opinion: one day)."""

    stage = models.CharField(_("stage"), max_length=24, unique=True)
    working_days = models.PositiveSmallIntegerField(_("working days"), validators=[MinValueValidator(1)])
    calendar = models.ForeignKey(
        "servicedesk.WorkingCalendar",
        verbose_name=_("working calendar"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        help_text=_("Leave empty for Monday to Friday, 9:00 to 17:00."),
    )
    owner_unit = models.ForeignKey(
        "servicedesk.OrgUnit",
        verbose_name=_("owning unit"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        help_text=_("For a stage a fixed unit works (quality management's investigation)."),
    )

    class Meta:
        verbose_name = _("stage deadline")
        verbose_name_plural = _("stage deadlines")
        ordering = ["stage"]

    def __str__(self):
        return f"{self.stage}: {self.working_days}"


class ComplaintCase(models.Model):
    """A customer complaint case and its handling form (客户抱怨处理表), DOMAIN section 7.

    Fields the penalties app may rely on (stable):
    ``number``, ``unit``, ``customer``, ``opinion``, ``call``, ``technician``, ``received_at`` (the case's date),
    ``status`` / ``Status`` / ``TRANSITIONS`` and ``is_ruled`` (True from APPROVED-by-authority on, i.e. status in
    ``RULED_STATUSES``), ``ruled_at`` (when the comprehensive opinion was approved; None before), ``claimed_amount``
    (Decimal), ``cause_category`` (CauseCategory, set by quality management's investigation), ``responsible_unit``
    (OrgUnit) and ``responsible_person`` (User or None), both from the investigation, and ``loss_amount()``
    (Decimal: posted returns and allowances plus other costs, see ``ReturnAllowance`` and ``CaseCost``).
    """

    class Kind(models.TextChoices):
        PRODUCT = "product", _("Product")
        SERVICE = "service", _("Service")

    class Status(models.TextChoices):
        RECEIVED = "received", _("Received")
        INVESTIGATION = "investigation", _("Investigation and responsibility")
        CAUSE_ANALYSIS = "cause_analysis", _("Cause analysis and countermeasures")
        INSTRUCTIONS = "instructions", _("Manager's instructions")
        OPINION = "opinion", _("Comprehensive opinion")
        APPROVAL = "approval", _("Approval")
        EXPLANATION = "explanation", _("Customer explanation and result")
        CLOSED = "closed", _("Closed")
        AUDITED = "audited", _("Audited")

    TRANSITIONS = {
        Status.RECEIVED: (Status.INVESTIGATION,),
        Status.INVESTIGATION: (Status.CAUSE_ANALYSIS,),
        Status.CAUSE_ANALYSIS: (Status.INSTRUCTIONS,),
        Status.INSTRUCTIONS: (Status.OPINION,),
        Status.OPINION: (Status.APPROVAL,),
        # The approver either approves (the ruling) or sends the opinion back.
        Status.APPROVAL: (Status.EXPLANATION, Status.OPINION),
        Status.EXPLANATION: (Status.CLOSED,),
        Status.CLOSED: (Status.AUDITED,),
        Status.AUDITED: (),
    }
    # The case is ruled once the comprehensive opinion is approved (penalties start from here).
    RULED_STATUSES = frozenset({Status.EXPLANATION, Status.CLOSED, Status.AUDITED})
    # Stages with a deadline and an owner; an audited case is finished.
    OPEN_STATUSES = frozenset(set(Status.values) - {Status.AUDITED})

    number = models.CharField(_("number"), max_length=32, unique=True)
    unit = models.ForeignKey(
        "servicedesk.OrgUnit", verbose_name=_("unit"), on_delete=models.PROTECT, related_name="complaint_cases"
    )
    customer = models.ForeignKey(
        "repairs.Customer", verbose_name=_("customer"), on_delete=models.PROTECT, related_name="complaint_cases"
    )
    opinion = models.ForeignKey(
        CustomerOpinion,
        verbose_name=_("customer opinion"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="cases",
    )
    call = models.ForeignKey(
        "repairs.RepairCall",
        verbose_name=_("repair call"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="complaint_cases",
    )
    technician = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("technician"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="complaint_cases_about",
    )
    kind = models.CharField(_("complaint about"), max_length=16, choices=Kind.choices, default=Kind.PRODUCT)
    product_description = models.CharField(_("product (model, serial number, batch)"), max_length=200, blank=True)
    description = models.TextField(_("the complaint"), max_length=4000)
    customer_request = models.TextField(_("what the customer asks for"), max_length=2000, blank=True)
    claimed_amount = models.DecimalField(
        _("claimed amount (yuan)"), max_digits=14, decimal_places=2, default=0, validators=[MinValueValidator(0)]
    )
    received_at = models.DateTimeField(_("received"))
    received_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("received by"), null=True, on_delete=models.PROTECT, related_name="+"
    )
    status = models.CharField(_("stage"), max_length=24, choices=Status.choices, default=Status.RECEIVED)
    # The current stage: when it began, its deadline, and a counter that tells one stay in a stage from the next.
    stage_entered_at = models.DateTimeField(_("stage began"))
    stage_due_at = models.DateTimeField(_("stage due"), null=True, blank=True)
    stage_seq = models.PositiveIntegerField(default=1, editable=False)
    # Stage 2: quality management's investigation and the responsibility (责任归属).
    investigation_findings = models.TextField(_("investigation findings"), max_length=4000, blank=True)
    cause_category = models.ForeignKey(
        CauseCategory,
        verbose_name=_("cause category"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="cases",
    )
    responsible_unit = models.ForeignKey(
        "servicedesk.OrgUnit",
        verbose_name=_("responsible department"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="complaint_cases_responsible",
    )
    responsible_person = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("responsible person"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="complaint_cases_responsible",
    )
    # Stage 3: the responsible department's cause analysis and countermeasures.
    cause_analysis = models.TextField(_("cause of the abnormality"), max_length=4000, blank=True)
    countermeasures = models.TextField(_("countermeasures"), max_length=4000, blank=True)
    # Stage 4 and 5.
    manager_instructions = models.TextField(_("manager's instructions"), max_length=4000, blank=True)
    comprehensive_opinion = models.TextField(_("comprehensive opinion"), max_length=4000, blank=True)
    opinion_submitted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("opinion submitted by"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    opinion_submitted_at = models.DateTimeField(_("opinion submitted"), null=True, blank=True)
    # Stage 6: the role the approval authority table named for the amount when the opinion was submitted.
    approval_role = models.CharField(_("approving role"), max_length=32, blank=True)
    approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("approved by"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    ruled_at = models.DateTimeField(_("ruled"), null=True, blank=True)
    # Stage 7: the explanation to the customer and the result of the negotiation.
    customer_result = models.TextField(_("result with the customer"), max_length=4000, blank=True)
    closed_at = models.DateTimeField(_("closed"), null=True, blank=True)
    audited_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("audited by"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    audited_at = models.DateTimeField(_("audited"), null=True, blank=True)
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    updated_at = models.DateTimeField(_("updated"), default=timezone.now)
    version = models.PositiveIntegerField(default=1)

    class Meta:
        verbose_name = _("complaint case")
        verbose_name_plural = _("complaint cases")
        ordering = ["-received_at", "-id"]
        permissions = [
            ("open_case", _("Can open a complaint case")),
            ("work_case", _("Can work on complaint cases in the stages they own")),
            ("audit_case", _("Can audit closed complaint cases and see every overdue case")),
            ("view_case_reports", _("Can see the complaint case reports")),
            ("check_returns", _("Can check returned quantities in the warehouse")),
            ("post_returns", _("Can post returns and allowances (accounting voucher)")),
        ]
        indexes = [
            models.Index(fields=["unit", "received_at"], name="case_unit_received_idx"),
            models.Index(fields=["status", "stage_entered_at"], name="case_status_idx"),
            models.Index(fields=["responsible_unit", "status"], name="case_responsible_idx"),
            # The deadline check reads only cases still open and past due.
            models.Index(fields=["stage_due_at"], name="case_stage_due_idx", condition=~models.Q(status="audited")),
        ]
        constraints = [
            models.CheckConstraint(condition=models.Q(claimed_amount__gte=0), name="case_claimed_not_negative"),
        ]

    def __str__(self):
        return self.number

    def get_absolute_url(self):
        from django.urls import reverse

        return reverse("complaints:case_detail", kwargs={"pk": self.pk})

    @property
    def is_ruled(self) -> bool:
        return self.status in self.RULED_STATUSES

    def loss_amount(self, *, returns=None, costs=None):
        """The loss so far: posted returns and allowances plus other costs (Decimal; provisional until resale).

        ``returns`` and ``costs``: all the case's return/allowance and cost rows, already read (the case's page
        lists them), summed here instead of asked of the database again.
        """
        from decimal import Decimal

        from django.db.models import Sum

        if returns is not None and costs is not None:
            posted = (r.amount for r in returns if r.status == ReturnAllowance.Status.POSTED and r.amount is not None)
            return sum(posted, Decimal("0")) + sum((c.amount for c in costs if c.amount is not None), Decimal("0"))
        returns = self.returns.filter(status=ReturnAllowance.Status.POSTED).aggregate(total=Sum("amount"))["total"]
        costs = self.costs.aggregate(total=Sum("amount"))["total"]
        return (returns or Decimal("0")) + (costs or Decimal("0"))


class CaseAttachment(models.Model):
    """A photo or scan kept with a case: stored outside the web root under a generated name."""

    case = models.ForeignKey(
        ComplaintCase, verbose_name=_("case"), on_delete=models.CASCADE, related_name="attachments"
    )
    stored_name = models.CharField(max_length=200, unique=True, editable=False)
    original_name = models.CharField(_("file name"), max_length=200)
    content_type = models.CharField(max_length=64)
    size = models.PositiveIntegerField(_("size (bytes)"))
    stage = models.CharField(_("stage"), max_length=24, blank=True)
    description = models.CharField(_("description"), max_length=200, blank=True)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("uploaded by"), null=True, on_delete=models.PROTECT, related_name="+"
    )
    uploaded_at = models.DateTimeField(_("uploaded"), default=timezone.now)

    class Meta:
        verbose_name = _("case attachment")
        verbose_name_plural = _("case attachments")
        ordering = ["uploaded_at", "id"]

    def __str__(self):
        return self.original_name


class CaseCost(models.Model):
    """Other costs of a complaint (freight, travel, on-site rework) that count towards its loss."""

    case = models.ForeignKey(ComplaintCase, verbose_name=_("case"), on_delete=models.CASCADE, related_name="costs")
    description = models.CharField(_("what"), max_length=200)
    amount = models.DecimalField(_("amount (yuan)"), max_digits=14, decimal_places=2)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("recorded by"), null=True, on_delete=models.PROTECT, related_name="+"
    )
    recorded_at = models.DateTimeField(_("recorded"), default=timezone.now)

    class Meta:
        verbose_name = _("case cost")
        verbose_name_plural = _("case costs")
        ordering = ["recorded_at", "id"]
        constraints = [models.CheckConstraint(condition=models.Q(amount__gte=0), name="case_cost_not_negative")]

    def __str__(self):
        return f"{self.description}: {self.amount}"


class ReturnAllowance(models.Model):
    """Returned goods or a price allowance for a case, checked by the warehouse and posted by accounting.

    The original invoice is noted with the returned quantity, unit price, amount and the accepted quantity.
    """

    class Kind(models.TextChoices):
        RETURN = "return", _("Returned goods")
        ALLOWANCE = "allowance", _("Price allowance")

    class Status(models.TextChoices):
        RECORDED = "recorded", _("Waiting for the warehouse check")
        MISMATCH = "mismatch", _("Mismatch to resolve")
        CHECKED = "checked", _("Checked, ready to post")
        POSTED = "posted", _("Posted")

    TRANSITIONS = {
        Status.RECORDED: (Status.CHECKED, Status.MISMATCH),
        Status.MISMATCH: (Status.CHECKED, Status.MISMATCH),
        Status.CHECKED: (Status.POSTED,),
        Status.POSTED: (),
    }

    case = models.ForeignKey(ComplaintCase, verbose_name=_("case"), on_delete=models.CASCADE, related_name="returns")
    kind = models.CharField(_("kind"), max_length=16, choices=Kind.choices, default=Kind.RETURN)
    status = models.CharField(_("status"), max_length=16, choices=Status.choices, default=Status.RECORDED)
    invoice_number = models.CharField(_("original invoice"), max_length=64)
    return_slip_number = models.CharField(_("return slip"), max_length=64, blank=True)
    item = models.CharField(_("item"), max_length=200)
    slip_quantity = models.DecimalField(_("quantity on the slip"), max_digits=12, decimal_places=3)
    unit_price = models.DecimalField(_("unit price (yuan)"), max_digits=14, decimal_places=2)
    slip_amount = models.DecimalField(_("amount on the slip (yuan)"), max_digits=14, decimal_places=2)
    returned_quantity = models.DecimalField(
        _("quantity actually returned"), max_digits=12, decimal_places=3, null=True, blank=True
    )
    accepted_quantity = models.DecimalField(
        _("quantity accepted"), max_digits=12, decimal_places=3, null=True, blank=True
    )
    amount = models.DecimalField(_("amount (yuan)"), max_digits=14, decimal_places=2, default=0)
    mismatch_note = models.TextField(_("mismatch"), max_length=2000, blank=True)
    checked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("checked by"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    checked_at = models.DateTimeField(_("checked"), null=True, blank=True)
    voucher_number = models.CharField(_("accounting voucher"), max_length=64, blank=True)
    posted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("posted by"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    posted_at = models.DateTimeField(_("posted"), null=True, blank=True)
    invoice_note = models.TextField(_("note on the original invoice"), blank=True)
    # Receivables affected by the complaint are left out of the salesperson's collection figures.
    receivable_affected = models.BooleanField(_("receivable affected"), default=False)
    salesperson = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("salesperson"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="flagged_receivables",
    )
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("recorded by"), null=True, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    updated_at = models.DateTimeField(_("updated"), default=timezone.now)
    version = models.PositiveIntegerField(default=1)

    class Meta:
        verbose_name = _("return or allowance")
        verbose_name_plural = _("returns and allowances")
        ordering = ["created_at", "id"]
        indexes = [
            models.Index(fields=["status", "created_at"], name="return_status_idx"),
            models.Index(
                fields=["salesperson", "created_at"],
                name="return_receivable_idx",
                condition=models.Q(receivable_affected=True),
            ),
        ]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(slip_quantity__gte=0) & models.Q(unit_price__gte=0) & models.Q(slip_amount__gte=0),
                name="return_figures_not_negative",
            ),
        ]

    def __str__(self):
        return f"{self.invoice_number} · {self.item}"


class ImprovementAction(models.Model):
    """改善案: an improvement proposed after a case, carried out, chased and its effect confirmed."""

    class Status(models.TextChoices):
        PROPOSED = "proposed", _("Proposed")
        EXECUTED = "executed", _("Carried out")
        CONFIRMED = "confirmed", _("Effect confirmed")

    TRANSITIONS = {
        Status.PROPOSED: (Status.EXECUTED,),
        # An effect not confirmed sends the action back to work.
        Status.EXECUTED: (Status.CONFIRMED, Status.PROPOSED),
        Status.CONFIRMED: (),
    }

    case = models.ForeignKey(ComplaintCase, verbose_name=_("case"), on_delete=models.CASCADE, related_name="actions")
    proposal = models.TextField(_("proposal"), max_length=4000)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("owner"), on_delete=models.PROTECT, related_name="improvement_actions"
    )
    due_on = models.DateField(_("due"))
    status = models.CharField(_("status"), max_length=16, choices=Status.choices, default=Status.PROPOSED)
    execution = models.TextField(_("what was done"), max_length=4000, blank=True)
    executed_at = models.DateTimeField(_("carried out"), null=True, blank=True)
    follow_up = models.TextField(_("follow-up"), max_length=4000, blank=True)
    followed_up_at = models.DateTimeField(_("last followed up"), null=True, blank=True)
    effect = models.TextField(_("effect"), max_length=4000, blank=True)
    confirmed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("confirmed by"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    confirmed_at = models.DateTimeField(_("effect confirmed"), null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("proposed by"), null=True, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    updated_at = models.DateTimeField(_("updated"), default=timezone.now)
    version = models.PositiveIntegerField(default=1)

    class Meta:
        verbose_name = _("improvement action")
        verbose_name_plural = _("improvement actions")
        ordering = ["due_on", "id"]
        indexes = [
            models.Index(fields=["due_on"], name="action_open_due_idx", condition=~models.Q(status="confirmed")),
        ]

    def __str__(self):
        return f"{self.case_id} · {self.proposal[:40]}"


class ReminderSlip(models.Model):
    """催办单: the GM office's reminder to a stage's owner, once per stage stay and overdue day (the UNIQUE)."""

    case = models.ForeignKey(
        ComplaintCase, verbose_name=_("case"), on_delete=models.CASCADE, related_name="reminder_slips"
    )
    stage = models.CharField(_("stage"), max_length=24, choices=ComplaintCase.Status.choices)
    stage_seq = models.PositiveIntegerField(editable=False)
    overdue_day = models.DateField(_("overdue on"))
    due_at = models.DateTimeField(_("stage was due"))
    owner_unit = models.ForeignKey(
        "servicedesk.OrgUnit",
        verbose_name=_("to unit"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    owner_role = models.CharField(_("to role"), max_length=32, blank=True)
    issued_at = models.DateTimeField(_("issued"), default=timezone.now)

    class Meta:
        verbose_name = _("reminder slip")
        verbose_name_plural = _("reminder slips")
        ordering = ["-overdue_day", "-id"]
        indexes = [models.Index(fields=["overdue_day", "id"], name="slip_day_idx")]
        constraints = [
            models.UniqueConstraint(
                fields=["case", "stage_seq", "overdue_day"], name="one_reminder_per_stage_and_overdue_day"
            ),
        ]

    def __str__(self):
        return self.display_number

    @property
    def display_number(self) -> str:
        return f"CB-{self.overdue_day:%Y}-{self.pk:06d}" if self.pk else "—"
