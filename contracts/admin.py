from django.contrib import admin, messages
from django.utils.translation import ngettext

from .models import Contract, ContractImport, ContractTerm, ContractType, ExpiryNotice, RenewalFollowUp
from .services import contract_type_reschedule_notices


@admin.register(ContractType)
class ContractTypeAdmin(admin.ModelAdmin):
    """Administrators keep the notice window per contract type (clause 二十: one month by default)."""

    list_display = ["code", "name", "notice_months", "notice_days", "follow_up_days", "is_active"]
    list_editable = ["notice_months", "notice_days", "follow_up_days", "is_active"]

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        if change and {"notice_months", "notice_days"} & set(form.changed_data):
            moved = contract_type_reschedule_notices(contract_type=obj)
            self.message_user(
                request,
                ngettext(
                    "The notice date of %(count)d term not yet noticed was moved.",
                    "The notice dates of %(count)d terms not yet noticed were moved.",
                    moved,
                )
                % {"count": moved},
                messages.INFO,
            )


class ReadOnlyAdmin(admin.ModelAdmin):
    """Contracts change through the contract pages and their services; here they can be looked up."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class ContractTermInline(admin.TabularInline):
    model = ContractTerm
    fk_name = "contract"
    fields = ["sequence", "start_on", "end_on", "fee", "visit_frequency", "status", "notice_on", "noticed_at"]
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Contract)
class ContractAdmin(ReadOnlyAdmin):
    list_display = ["number", "customer", "unit", "contract_type", "created_at"]
    list_filter = ["unit", "contract_type"]
    search_fields = ["number", "customer__name", "covered_products__product__serial_number"]
    list_select_related = ["customer", "unit", "contract_type"]
    inlines = [ContractTermInline]


@admin.register(ExpiryNotice)
class ExpiryNoticeAdmin(ReadOnlyAdmin):
    list_display = ["number", "term", "issued_on", "email_to", "emailed_at", "email_attempts"]
    list_filter = ["issued_on", "unit"]
    search_fields = ["number", "term__contract__number"]
    list_select_related = ["term__contract"]


@admin.register(RenewalFollowUp)
class RenewalFollowUpAdmin(ReadOnlyAdmin):
    list_display = ["term", "unit", "assigned_to", "due_on", "status"]
    list_filter = ["status", "unit"]
    list_select_related = ["term__contract", "unit", "assigned_to"]


@admin.register(ContractImport)
class ContractImportAdmin(ReadOnlyAdmin):
    list_display = ["filename", "unit", "uploaded_by", "status", "rows_total", "rows_imported", "error_count"]
    list_filter = ["status", "unit"]
    list_select_related = ["unit", "uploaded_by"]
    exclude = ["content"]
