from django import forms
from django.contrib import admin
from django.db.models import Case, Value, When
from django.utils.translation import gettext_lazy as _

from servicedesk.roles import Role, role_label

from .models import (
    ApprovalAuthority,
    CaseAttachment,
    CauseCategory,
    ComplaintCase,
    CustomerOpinion,
    FollowUpPolicy,
    ImprovementAction,
    OpinionFollowUp,
    ReminderSlip,
    ReturnAllowance,
    RoleRank,
    StageDeadline,
    SurveyBatch,
    SurveyCard,
    SurveyPolicy,
    TechnicianMonth,
)


@admin.register(SurveyPolicy)
class SurveyPolicyAdmin(admin.ModelAdmin):
    list_display = ["__str__", "link_valid_days"]
    list_select_related = ["unit"]


class _ReadOnlyAdmin(admin.ModelAdmin):
    """Cards and opinions change only through their services (the pages and the daily run)."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(SurveyBatch)
class SurveyBatchAdmin(_ReadOnlyAdmin):
    list_display = ["day", "unit", "created_at"]
    list_filter = ["unit"]
    list_select_related = ["unit"]
    date_hierarchy = "day"


@admin.register(SurveyCard)
class SurveyCardAdmin(_ReadOnlyAdmin):
    list_display = ["display_number", "survey_day", "unit", "customer", "status", "answer_channel", "answered_at"]
    list_filter = ["status", "answer_channel", "unit"]
    list_select_related = ["unit", "customer"]
    search_fields = ["=id", "call__number", "customer__name"]
    exclude = ["token"]


@admin.register(CustomerOpinion)
class CustomerOpinionAdmin(_ReadOnlyAdmin):
    list_display = ["received_at", "unit", "customer", "kind", "severity", "source", "status", "technician"]
    list_filter = ["kind", "severity", "source", "status", "unit"]
    list_select_related = ["unit", "customer", "technician"]
    search_fields = ["customer__name", "text"]


@admin.register(TechnicianMonth)
class TechnicianMonthAdmin(_ReadOnlyAdmin):
    """Written by the month-end job; the appraisal page is where these are read."""

    list_display = ["month", "unit", "technician", "calls_handled", "attended_in_time", "cards_answered", "complaints"]
    list_filter = ["unit", "month"]
    list_select_related = ["unit", "technician"]


# --- Complaint cases: reference tables administrators keep, and read-only records -------------------------------


@admin.register(CauseCategory)
class CauseCategoryAdmin(admin.ModelAdmin):
    list_display = ["code", "name", "is_active", "sort_order"]
    list_editable = ["is_active", "sort_order"]


class ApprovalAuthorityForm(forms.ModelForm):
    role = forms.ChoiceField(
        choices=Role.choices, help_text=_("This role, or any role of higher rank in the role ranks, approves.")
    )

    class Meta:
        model = ApprovalAuthority
        fields = ["min_amount", "max_amount", "role"]


@admin.register(ApprovalAuthority)
class ApprovalAuthorityAdmin(admin.ModelAdmin):
    """核决权限: claimed-amount brackets → the role that approves the comprehensive opinion."""

    form = ApprovalAuthorityForm
    list_display = ["min_amount", "max_amount", "approving_role"]

    @admin.display(description=_("approving role"), ordering="role")
    def approving_role(self, obj):
        return role_label(obj.role)


class StageDeadlineForm(forms.ModelForm):
    stage = forms.ChoiceField(choices=[c for c in ComplaintCase.Status.choices if c[0] != "audited"])

    class Meta:
        model = StageDeadline
        fields = ["stage", "working_days", "calendar", "owner_unit"]


class RoleRankForm(forms.ModelForm):
    role = forms.ChoiceField(label=_("role"), choices=Role.choices)

    class Meta:
        model = RoleRank
        fields = ["role", "rank"]


@admin.register(RoleRank)
class RoleRankAdmin(admin.ModelAdmin):
    """The ranks of the approving roles: a higher rank approves whatever a lower one may."""

    form = RoleRankForm
    list_display = ["__str__", "rank"]
    list_editable = ["rank"]
    ordering = ["rank"]


@admin.register(FollowUpPolicy)
class FollowUpPolicyAdmin(admin.ModelAdmin):
    """Clause 二十八: per unit, whether a phone call counts as the supervisor's follow-up."""

    list_display = ["unit", "phone_counts"]
    list_select_related = ["unit"]


def stage_label(code: str) -> str:
    try:
        return str(ComplaintCase.Status(code).label)
    except ValueError:
        return code


# The stages in the order a case goes through them (the order of ComplaintCase.Status).
STAGE_ORDER = Case(
    *[When(stage=code, then=Value(position)) for position, code in enumerate(ComplaintCase.Status.values)],
    default=Value(len(ComplaintCase.Status.values)),
)


@admin.register(StageDeadline)
class StageDeadlineAdmin(admin.ModelAdmin):
    form = StageDeadlineForm
    list_display = ["stage_name", "working_days", "calendar", "owner_unit"]
    list_select_related = ["calendar", "owner_unit"]

    def get_queryset(self, request):
        # Not super(): it orders by get_ordering() before the order it names is annotated.
        return self.model._default_manager.annotate(stage_order=STAGE_ORDER).order_by("stage_order")

    def get_ordering(self, request):
        return ["stage_order"]

    @admin.display(description=_("stage"), ordering="stage_order")
    def stage_name(self, obj):
        return stage_label(obj.stage)


@admin.register(ComplaintCase)
class ComplaintCaseAdmin(_ReadOnlyAdmin):
    list_display = ["number", "received_at", "unit", "customer", "status", "stage_due_at", "claimed_amount"]
    list_filter = ["status", "unit", "cause_category"]
    list_select_related = ["unit", "customer"]
    search_fields = ["number", "customer__name"]


@admin.register(OpinionFollowUp)
class OpinionFollowUpAdmin(_ReadOnlyAdmin):
    list_display = ["opinion", "supervisor", "followed_up_at", "method"]
    list_select_related = ["opinion", "supervisor"]


@admin.register(ReminderSlip)
class ReminderSlipAdmin(_ReadOnlyAdmin):
    list_display = ["display_number", "overdue_day", "case", "stage_name", "owner_unit", "owner"]
    list_select_related = ["case", "owner_unit"]
    date_hierarchy = "overdue_day"

    @admin.display(description=_("stage"), ordering="stage")
    def stage_name(self, obj):
        return stage_label(obj.stage)

    @admin.display(description=_("to role"), ordering="owner_role")
    def owner(self, obj):
        return role_label(obj.owner_role)


@admin.register(ReturnAllowance)
class ReturnAllowanceAdmin(_ReadOnlyAdmin):
    list_display = ["invoice_number", "case", "kind", "status", "amount", "receivable_affected"]
    list_select_related = ["case"]
    list_filter = ["status", "kind", "receivable_affected"]


@admin.register(ImprovementAction)
class ImprovementActionAdmin(_ReadOnlyAdmin):
    list_display = ["case", "owner", "due_on", "status"]
    list_select_related = ["case", "owner"]


@admin.register(CaseAttachment)
class CaseAttachmentAdmin(_ReadOnlyAdmin):
    list_display = ["original_name", "case", "content_type", "size", "uploaded_at"]
    list_select_related = ["case"]
    exclude = ["stored_name"]
