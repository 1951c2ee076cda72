"""The shared core: organisation units, users, working calendars, status history, outbox."""

from django.conf import settings
from django.contrib.auth.models import AbstractUser
from django.contrib.contenttypes.fields import GenericForeignKey
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models.functions import Coalesce, NullIf
from django.utils import timezone, translation
from django.utils.functional import cached_property
from django.utils.translation import gettext_lazy as _

from .calendars import CalendarSpec


def name_en_field():
    """The English name of a row of reference data, beside its name in Chinese (the standard's language)."""
    return models.CharField(
        _("name in English"),
        max_length=100,
        blank=True,
        default="",
        db_default="",
        help_text=_("Shown to users who read the site in English; leave empty to show the name above."),
    )


def reads_english() -> bool:
    """Whether the active language (the reader's, or an export's or a notice's override) is English."""
    return (translation.get_language() or "").startswith("en")


class NamedInLanguages:
    """Reference data (units, zones, contract types, causes, penalty kinds...) is named once per language:
    ``name`` in Chinese and ``name_en`` in English, never as one bilingual string ("市区 Urban"). It is shown
    (``str()``, ``label``) in the reader's language; lists reading plain values use ``name_in_language``."""

    @property
    def label(self) -> str:
        if self.name_en and reads_english():
            return self.name_en
        return self.name


def name_in_language(path: str = ""):
    """The name of the reference row at ``path`` ("zone", "call__zone"; "" for the queryset's own rows) as
    ``label`` shows it, for the lists that read plain values (``values()``, ``values_list()``): the English name
    on an English page when one is filled in, else the Chinese name. The language is read when the query is built
    (inside the request, or the export job's override): a cache of such values is kept per language."""
    prefix = f"{path}__" if path else ""
    name = models.F(f"{prefix}name")
    if not reads_english():
        return name
    return Coalesce(NullIf(models.F(f"{prefix}name_en"), models.Value("")), name, output_field=models.CharField())


def _reference_path(model, column) -> str | None:
    """``"call__zone"`` when ``column`` is ``"call__zone__name"`` and a zone is named in languages, else None."""
    if not isinstance(column, str) or not column.endswith("__name"):
        return None
    path = column.removesuffix("__name")
    related = model
    for part in path.split("__"):
        related = related._meta.get_field(part).related_model
        if related is None:
            return None
    return path if isinstance(related, type) and issubclass(related, NamedInLanguages) else None


def columns_in_language(model, columns) -> tuple:
    """``values_list()`` columns of ``model`` with each reference row's ``<path>__name`` read in the reader's
    language (the same positions, so the rows keep their shape)."""
    return tuple(name_in_language(path) if (path := _reference_path(model, column)) else column for column in columns)


def values_in_language(queryset, *fields, **expressions):
    """``queryset.values(*fields, **expressions)`` with each reference row's ``<path>__name`` read in the reader's
    language, under the same key (``row["zone__name"]`` is the zone's name as the reader reads it)."""
    plain, named = [], {}
    for field in fields:
        path = _reference_path(queryset.model, field)
        if path:
            named[field] = name_in_language(path)
        else:
            plain.append(field)
    return queryset.values(*plain, **named, **expressions)

    def __str__(self):
        return self.label


class OrgUnit(NamedInLanguages, models.Model):
    class Kind(models.TextChoices):
        SERVICE_DEPARTMENT = "service_department", _("Service department")
        SERVICE_CENTRE = "service_centre", _("Service centre")
        BRANCH = "branch", _("Branch office")
        HEAD_OFFICE = "head_office", _("Head-office department")

    # Units whose staff see every unit's records (DOMAIN: head-office roles see all).
    HEAD_OFFICE_KINDS = frozenset({Kind.SERVICE_DEPARTMENT, Kind.HEAD_OFFICE})

    code = models.SlugField(_("code"), max_length=32, unique=True)
    name = models.CharField(_("name"), max_length=100)
    name_en = name_en_field()
    kind = models.CharField(_("kind"), max_length=32, choices=Kind.choices)
    parent = models.ForeignKey(
        "self", verbose_name=_("parent unit"), null=True, blank=True, on_delete=models.PROTECT, related_name="children"
    )
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("organisation unit")
        verbose_name_plural = _("organisation units")
        ordering = ["name"]

    def __str__(self):
        return self.label

    @property
    def is_head_office(self) -> bool:
        return self.kind in self.HEAD_OFFICE_KINDS


def person_name(*, username: str, first_name: str, last_name: str) -> str:
    """How a person is shown everywhere: the full name, or the login when no name is recorded."""
    return f"{first_name} {last_name}".strip() or username


class User(AbstractUser):
    unit = models.ForeignKey(
        OrgUnit, verbose_name=_("unit"), null=True, blank=True, on_delete=models.PROTECT, related_name="members"
    )
    phone = models.CharField(_("phone"), max_length=32, blank=True)

    class Meta(AbstractUser.Meta):
        verbose_name = _("user")
        verbose_name_plural = _("users")

    def __str__(self):
        return person_name(username=self.username, first_name=self.first_name, last_name=self.last_name)

    @cached_property
    def role_codes(self) -> frozenset:
        # The authentication backend sets them with the permissions, from the entry it keeps for the user.
        self.get_all_permissions()
        if "role_codes" in self.__dict__:
            return self.__dict__["role_codes"]
        return frozenset(self.groups.values_list("name", flat=True))  # an inactive user: no kept entry

    def has_role(self, *roles) -> bool:
        return any(str(role) in self.role_codes for role in roles)

    @property
    def sees_all_units(self) -> bool:
        """Deny by default: only a head-office unit (or a superuser) sees every unit."""
        if not (self.is_authenticated and self.is_active):
            return False
        if self.is_superuser:
            return True
        return self.unit_id is not None and self.unit.is_head_office


class WorkingCalendar(NamedInLanguages, models.Model):
    """Working days, daily windows and exceptions, for deadlines counted in business hours."""

    name = models.CharField(_("name"), max_length=100, unique=True)
    name_en = name_en_field()
    timezone = models.CharField(_("time zone"), max_length=64, default="Asia/Shanghai")
    monday = models.BooleanField(_("Monday"), default=True)
    tuesday = models.BooleanField(_("Tuesday"), default=True)
    wednesday = models.BooleanField(_("Wednesday"), default=True)
    thursday = models.BooleanField(_("Thursday"), default=True)
    friday = models.BooleanField(_("Friday"), default=True)
    saturday = models.BooleanField(_("Saturday"), default=False)
    sunday = models.BooleanField(_("Sunday"), default=False)

    WEEKDAY_FIELDS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")

    class Meta:
        verbose_name = _("working calendar")
        verbose_name_plural = _("working calendars")
        ordering = ["name"]

    def __str__(self):
        return self.label

    def clean(self):
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

        try:
            ZoneInfo(self.timezone)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValidationError({"timezone": _("Unknown time zone.")}) from None

    def spec(self) -> CalendarSpec:
        """The pure description the deadline function works on (uses prefetched rows if any)."""
        return CalendarSpec(
            timezone=self.timezone,
            weekdays=frozenset(i for i, f in enumerate(self.WEEKDAY_FIELDS) if getattr(self, f)),
            windows=tuple(sorted((w.start, w.end) for w in self.windows.all())),
            holidays=frozenset(e.date for e in self.exceptions.all() if e.kind == CalendarException.Kind.HOLIDAY),
            extra_workdays=frozenset(
                e.date for e in self.exceptions.all() if e.kind == CalendarException.Kind.WORKING_DAY
            ),
        )


class WorkingWindow(models.Model):
    calendar = models.ForeignKey(WorkingCalendar, on_delete=models.CASCADE, related_name="windows")
    start = models.TimeField(_("from"))
    end = models.TimeField(_("until"))

    class Meta:
        verbose_name = _("daily working window")
        verbose_name_plural = _("daily working windows")
        ordering = ["start"]
        constraints = [
            models.CheckConstraint(condition=models.Q(end__gt=models.F("start")), name="window_end_after_start"),
        ]

    def __str__(self):
        return f"{self.start:%H:%M}–{self.end:%H:%M}"


class CalendarException(models.Model):
    class Kind(models.TextChoices):
        HOLIDAY = "holiday", _("Holiday (no work)")
        WORKING_DAY = "working_day", _("Working day (e.g. a swapped weekend)")

    calendar = models.ForeignKey(WorkingCalendar, on_delete=models.CASCADE, related_name="exceptions")
    date = models.DateField(_("date"))
    kind = models.CharField(_("kind"), max_length=16, choices=Kind.choices, default=Kind.HOLIDAY)
    name = models.CharField(_("name"), max_length=100, blank=True)
    name_en = name_en_field()

    class Meta:
        verbose_name = _("calendar exception")
        verbose_name_plural = _("calendar exceptions")
        ordering = ["date"]
        constraints = [models.UniqueConstraint(fields=["calendar", "date"], name="one_exception_per_calendar_day")]

    def __str__(self):
        return f"{self.date} {self.get_kind_display()}"


class StatusChange(models.Model):
    """Who moved which record from which status to which, when and why. Written only by services."""

    content_type = models.ForeignKey(ContentType, on_delete=models.PROTECT)
    object_id = models.PositiveBigIntegerField()
    subject = GenericForeignKey("content_type", "object_id")
    from_status = models.CharField(_("from"), max_length=32, blank=True)
    to_status = models.CharField(_("to"), max_length=32)
    by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("by"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    at = models.DateTimeField(_("at"), default=timezone.now)
    note = models.TextField(_("note"), blank=True)

    class Meta:
        verbose_name = _("status change")
        verbose_name_plural = _("status changes")
        ordering = ["at", "id"]
        indexes = [models.Index(fields=["content_type", "object_id", "at"], name="statuschange_subject_idx")]

    def __str__(self):
        return f"{self.from_status or '∅'} → {self.to_status} @ {self.at:%Y-%m-%d %H:%M}"


class Notification(models.Model):
    """An outbox row: written in the same transaction as the business change, delivered by a task.

    ``dedupe_key`` is unique, so whatever runs twice, a notice is written once.

    Two forms of row are valid. A notice written inside a user's request is usually
    written out at once (``subject`` and ``body`` filled in, ``kind`` blank). A
    periodic check that writes many notices at once writes only ``kind`` and
    ``object_id`` and leaves the text blank: the delivery sweep renders such notices
    in bulk when it sends them (``servicedesk.notifications``) and stores the text it
    sent, so a sent row always shows what the recipient got.
    """

    class Channel(models.TextChoices):
        EMAIL = "email", _("e-mail")
        SMS = "sms", _("SMS")
        INAPP = "inapp", _("in the app")

    dedupe_key = models.CharField(max_length=200, unique=True)
    # db_default: code that predates the channels still writes e-mails while a deploy rolls out.
    channel = models.CharField(
        _("channel"), max_length=8, choices=Channel.choices, default=Channel.EMAIL, db_default=Channel.EMAIL
    )
    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="notifications"
    )
    to_email = models.EmailField(_("to"), blank=True)
    to_phone = models.CharField(_("to phone"), max_length=20, blank=True, default="", db_default="")
    # db_default: code that predates these columns can still write a notice while a deploy rolls out.
    kind = models.CharField(_("kind"), max_length=64, blank=True, default="", db_default="")
    object_id = models.PositiveBigIntegerField(_("about object"), null=True, blank=True)
    subject = models.CharField(_("subject"), max_length=200, blank=True)
    body = models.TextField(_("body"), blank=True)
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    sent_at = models.DateTimeField(_("sent"), null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    # After a failed attempt the notice waits (exponential backoff) before the sweep tries it again.
    next_attempt_at = models.DateTimeField(_("next attempt"), null=True, blank=True)
    last_error = models.TextField(blank=True)
    read_at = models.DateTimeField(_("read"), null=True, blank=True)  # in-app notices: when the user opened it

    class Meta:
        verbose_name = _("notification")
        verbose_name_plural = _("notifications")
        ordering = ["-created_at"]
        indexes = [
            models.Index(
                fields=["created_at"], name="notification_pending_idx", condition=models.Q(sent_at__isnull=True)
            ),
            # A user's in-app notices, newest first (the bell and its page).
            models.Index(
                fields=["recipient", "-created_at"],
                name="notification_inapp_idx",
                condition=models.Q(channel="inapp"),
            ),
        ]

    def __str__(self):
        return self.subject or f"{self.kind} #{self.object_id}"


class NumberSequence(models.Model):
    """Gap-free document numbers per series and year (RC-2026-000001)."""

    series = models.CharField(max_length=32)
    year = models.PositiveSmallIntegerField()
    last_value = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["series", "year"], name="one_counter_per_series_year")]

    def __str__(self):
        return f"{self.series}-{self.year}: {self.last_value}"


class CompanyProfile(models.Model):
    """The header printed on every document. One row, kept by administrators."""

    name = models.CharField(_("company name"), max_length=200)
    address = models.CharField(_("address"), max_length=300, blank=True)
    phone = models.CharField(_("phone"), max_length=64, blank=True)
    service_hotline = models.CharField(_("service hotline"), max_length=64, blank=True)

    class Meta:
        verbose_name = _("company profile")
        verbose_name_plural = _("company profile")

    def __str__(self):
        return self.name

    @classmethod
    def current(cls) -> "CompanyProfile":
        return cls.objects.order_by("pk").first() or cls(name=str(_("Service Desk")))


class ExportJob(models.Model):
    """An Excel export too large for a request, written by the worker (``servicedesk.exports``).

    Only its owner may see or download it; the file is deleted a while after it was written
    (``EXPORT_KEEP``, the periodic ``servicedesk.tasks.clean_export_jobs``).
    """

    class Status(models.TextChoices):
        QUEUED = "queued", _("Waiting")
        RUNNING = "running", _("Writing the file")
        DONE = "done", _("Ready to download")
        FAILED = "failed", _("Failed")
        EXPIRED = "expired", _("Deleted after its time")

    TRANSITIONS = {
        Status.QUEUED: (Status.RUNNING, Status.FAILED),
        # Back to QUEUED: a worker stopped half-way and the task is delivered again (acks_late).
        Status.RUNNING: (Status.DONE, Status.FAILED, Status.QUEUED),
        Status.DONE: (Status.EXPIRED,),
        Status.FAILED: (Status.EXPIRED,),
        Status.EXPIRED: (),
    }
    RUNNING_STATUSES = (Status.QUEUED, Status.RUNNING)

    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("owner"), on_delete=models.CASCADE, related_name="+"
    )
    unit = models.ForeignKey(
        OrgUnit, verbose_name=_("unit"), null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    page = models.CharField(_("page"), max_length=64)
    fmt = models.CharField(_("format"), max_length=8, default="xlsx")
    # The page's query string as lists of values ({"status": ["logged"]}): the worker parses it as the page does.
    filters = models.JSONField(_("filters"), default=dict, blank=True)
    language = models.CharField(_("language"), max_length=16, default="zh-hans")
    status = models.CharField(_("status"), max_length=16, choices=Status.choices, default=Status.QUEUED)
    rows_total = models.PositiveIntegerField(_("rows"), default=0)
    rows_done = models.PositiveIntegerField(_("rows written"), default=0)
    file = models.FileField(_("file"), upload_to="exports/%Y/%m/", blank=True, max_length=255)
    message = models.TextField(_("message"), blank=True)
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    finished_at = models.DateTimeField(_("finished"), null=True, blank=True)

    class Meta:
        verbose_name = _("export")
        verbose_name_plural = _("exports")
        ordering = ["-created_at", "-id"]
        indexes = [
            # The clean-up's one query: finished jobs whose file is still kept.
            models.Index(
                fields=["finished_at"],
                name="exportjob_to_clean_idx",
                condition=models.Q(status__in=["done", "failed"]),
            ),
        ]

    def __str__(self):
        return f"{self.page} ({self.get_status_display()})"

    def get_absolute_url(self):
        from django.urls import reverse

        return reverse("export_job", args=[self.pk])

    @property
    def is_running(self) -> bool:
        return self.status in self.RUNNING_STATUSES
