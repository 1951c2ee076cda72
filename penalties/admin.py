"""The admin site: administrators keep the criteria table; rulings, losses and the audit trail are read-only.

Every save of the criteria table goes through the services, which refuse a version already in force
(or used by a ruling) and record the change in the audit trail. Rulings change only through their
pages and services; here they can be looked up, never edited, and an approved one never at all.
"""

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from servicedesk.exceptions import ApplicationError

from . import services
from .models import (
    AuditEntry,
    CaseLoss,
    CriteriaRow,
    CriteriaVersion,
    PenaltyKind,
    PenaltyLine,
    PenaltyRuling,
    ResaleProceeds,
    ResaleWindowPolicy,
)


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(PenaltyKind)
class PenaltyKindAdmin(admin.ModelAdmin):
    list_display = ["code", "name", "severity", "minimum_per_unit", "is_active"]

    def has_delete_permission(self, request, obj=None):
        return False  # rulings keep their kinds: deactivate one instead

    def save_model(self, request, obj, form, change):
        services.penalty_kind_save(user=request.user, kind=obj)


class CriteriaRowFormSet(forms.BaseInlineFormSet):
    """Brackets of one cause must not overlap; a kind's minimum per base unit holds (小过 ≥ 800 yuan)."""

    def clean(self):
        super().clean()
        kept = []
        for form in self.forms:
            data = getattr(form, "cleaned_data", None)
            if not data or data.get("DELETE"):
                continue
            low, high, kind = data.get("loss_from"), data.get("loss_to"), data.get("penalty_kind")
            per_unit = data.get("amount_per_unit")
            if low is None or kind is None or per_unit is None:
                continue
            if high is not None and high <= low:
                form.add_error("loss_to", _("The loss bracket must end above where it starts."))
            if per_unit < kind.minimum_per_unit:
                form.add_error(
                    "amount_per_unit",
                    _("A %(kind)s deducts at least %(minimum)s yuan per base unit.")
                    % {"kind": kind.name, "minimum": kind.minimum_per_unit},
                )
            cause = data.get("cause_category")
            for other_cause, other_low, other_high in kept:
                if (
                    other_cause == cause
                    and (other_high is None or low < other_high)
                    and (high is None or other_low < high)
                ):
                    raise ValidationError(_("Two rows for the same cause have overlapping loss brackets."))
            kept.append((cause, low, high))


class CriteriaRowInline(admin.TabularInline):
    model = CriteriaRow
    formset = CriteriaRowFormSet
    fields = ["cause_category", "loss_from", "loss_to", "penalty_kind", "amount_per_unit", "base_units", "note"]
    extra = 1

    def _locked(self, obj):
        return obj is not None and obj.is_locked(today=timezone.localdate())

    def has_add_permission(self, request, obj=None):
        return not self._locked(obj) and super().has_add_permission(request, obj)

    def has_change_permission(self, request, obj=None):
        return not self._locked(obj) and super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None):
        return not self._locked(obj) and super().has_delete_permission(request, obj)


@admin.register(CriteriaVersion)
class CriteriaVersionAdmin(admin.ModelAdmin):
    """A version in force (or used by a ruling) is read-only: copy it to a new version to change the table."""

    list_display = ["effective_from", "note", "row_count", "created_by", "created_at"]
    fields = ["effective_from", "note"]
    inlines = [CriteriaRowInline]
    actions = ["copy_to_new_version"]

    @admin.display(description=_("rows"))
    def row_count(self, obj):
        return obj.rows.count()

    def has_change_permission(self, request, obj=None):
        if obj is not None and obj.is_locked(today=timezone.localdate()):
            return False
        return super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None):
        return False  # history: a version is replaced by a later one, never removed

    def get_form(self, request, obj=None, **kwargs):
        form = super().get_form(request, obj, **kwargs)

        class VersionForm(form):
            def clean_effective_from(self):
                value = self.cleaned_data["effective_from"]
                if value < timezone.localdate():
                    raise ValidationError(_("A version takes effect today or later; the past stays as it was ruled."))
                others = CriteriaVersion.objects.filter(effective_from=value)
                if self.instance.pk:
                    others = others.exclude(pk=self.instance.pk)
                if others.exists():
                    raise ValidationError(_("A version already takes effect on that day."))
                return value

        return VersionForm

    def save_model(self, request, obj, form, change):
        if change:
            services.criteria_version_update(
                user=request.user, version=obj, effective_from=obj.effective_from, note=obj.note
            )
        else:
            created = services.criteria_version_create(
                user=request.user, effective_from=obj.effective_from, note=obj.note, copy_rows=False
            )
            obj.pk = created.pk
            obj.created_by = created.created_by
            obj.created_at = created.created_at
            obj._state.adding = False
            obj._state.db = created._state.db

    def save_formset(self, request, form, formset, change):
        saved = formset.save(commit=False)
        services.criteria_version_save_rows(
            user=request.user, version=form.instance, saved=saved, deleted=list(formset.deleted_objects)
        )

    @admin.action(description=_("Copy to a new version in force from tomorrow"))
    def copy_to_new_version(self, request, queryset):
        tomorrow = timezone.localdate() + timezone.timedelta(days=1)
        for version in queryset.order_by("-effective_from")[:1]:
            try:
                created = services.criteria_version_create(
                    user=request.user,
                    effective_from=tomorrow,
                    note=_("Copy of %(version)s") % {"version": version},
                    copy_from=version,
                )
            except ApplicationError as exc:
                self.message_user(request, exc.message, messages.ERROR)
            else:
                # The admin logs its forms, not its actions: this addition goes in the admin log by hand.
                self.log_addition(request, created, [{"added": {}}])
                self.message_user(
                    request,
                    _("New version in force from %(date)s: edit its rows before then.")
                    % {"date": created.effective_from.isoformat()},
                    messages.SUCCESS,
                )


@admin.register(ResaleWindowPolicy)
class ResaleWindowPolicyAdmin(admin.ModelAdmin):
    list_display = ["__str__", "months", "days"]

    def has_add_permission(self, request):
        return not ResaleWindowPolicy.objects.exists() and super().has_add_permission(request)

    def has_delete_permission(self, request, obj=None):
        return False

    def save_model(self, request, obj, form, change):
        old = services.audit.snapshot(ResaleWindowPolicy.objects.get(pk=obj.pk), ("months", "days")) if change else None
        super().save_model(request, obj, form, change)
        services.audit_record(
            actor=request.user,
            action="resale_window_change",
            entity="resalewindowpolicy",
            object_id=obj.pk,
            old=old,
            new=services.audit.snapshot(obj, ("months", "days")),
        )


class PenaltyLineInline(admin.TabularInline):
    model = PenaltyLine
    fields = [
        "person",
        "department",
        "share_percent",
        "personal_negligence",
        "loss_share",
        "criteria_row",
        "penalty_kind",
        "base_units",
        "amount_per_unit",
        "deduction",
        "adjusted_by",
        "adjust_reason",
        "reverses",
    ]
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(PenaltyRuling)
class PenaltyRulingAdmin(ReadOnlyAdmin):
    list_display = ["number", "case", "unit", "kind", "status", "total_deduction", "approved_by", "approved_at"]
    list_filter = ["status", "kind", "unit"]
    search_fields = ["number", "case__number"]
    list_select_related = ["case", "unit", "approved_by"]
    inlines = [PenaltyLineInline]


class ResaleProceedsInline(admin.TabularInline):
    model = ResaleProceeds
    fields = ["amount", "sold_on", "note", "entered_by", "entered_at"]
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(CaseLoss)
class CaseLossAdmin(ReadOnlyAdmin):
    list_display = [
        "case",
        "unit",
        "status",
        "window_ends_at",
        "returned_goods",
        "resale_proceeds",
        "allowances",
        "costs",
    ]
    list_filter = ["status", "unit"]
    list_select_related = ["case", "unit"]
    inlines = [ResaleProceedsInline]


@admin.register(AuditEntry)
class AuditEntryAdmin(ReadOnlyAdmin):
    """Append-only: nobody adds, changes or deletes an entry here (the database refuses it too)."""

    list_display = ["at", "actor", "action", "entity", "object_id", "ruling", "unit"]
    list_filter = ["action", "entity"]
    list_select_related = ["actor", "ruling", "unit"]
    search_fields = ["ruling__number", "action"]
