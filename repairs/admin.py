from django.contrib import admin

from .models import Customer, CustomerContact, Product, RepairCall, Site, Zone


@admin.register(Zone)
class ZoneAdmin(admin.ModelAdmin):
    list_display = ["code", "name", "response_hours", "calendar", "at_risk_minutes", "is_active"]
    list_editable = ["response_hours", "at_risk_minutes", "is_active"]


class SiteInline(admin.TabularInline):
    model = Site
    extra = 0


class ProductInline(admin.TabularInline):
    model = Product
    extra = 0


class ContactInline(admin.TabularInline):
    """The customer's contact persons: who may sign in to the customer portal."""

    model = CustomerContact
    extra = 0
    fields = ["name", "email", "mobile", "portal_access"]


@admin.register(Customer)
class CustomerAdmin(admin.ModelAdmin):
    list_display = ["name", "phone", "unit"]
    list_filter = ["unit"]
    search_fields = ["name", "phone", "products__serial_number"]
    inlines = [SiteInline, ProductInline, ContactInline]


@admin.register(Product)
class ProductAdmin(admin.ModelAdmin):
    list_display = ["serial_number", "model", "customer", "warranty_end"]
    search_fields = ["serial_number", "model", "customer__name"]
    raw_id_fields = ["customer", "site"]


@admin.register(RepairCall)
class RepairCallAdmin(admin.ModelAdmin):
    """Read-only here: calls change state only through the dispatch pages and their services."""

    list_display = ["number", "unit", "customer", "status", "attend_by", "technician"]
    list_filter = ["status", "unit", "zone"]
    search_fields = ["number", "customer__name", "contact_phone"]
    list_select_related = ["unit", "customer", "technician"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


# --- Field service (issue 3) ------------------------------------------------------------------------------

from .models import (  # noqa: E402
    FeeAdjustment,
    FeeCollection,
    RegisterEntry,
    RepairCard,
    RepairCardDelay,
    ServiceVoucher,
    UnitFeePolicy,
    VoucherPart,
)


@admin.register(UnitFeePolicy)
class UnitFeePolicyAdmin(admin.ModelAdmin):
    """Clause 十: the on-site fee limit per unit; the row without a unit is everyone's default (500 yuan)."""

    list_display = ["__str__", "onsite_fee_limit", "handover_days"]
    list_editable = ["onsite_fee_limit", "handover_days"]
    list_select_related = ["unit"]


class ReadOnlyAdmin(admin.ModelAdmin):
    """Workflow records change only through their pages and services; the admin shows them."""

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class VoucherPartInline(admin.TabularInline):
    model = VoucherPart
    extra = 0

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(ServiceVoucher)
class ServiceVoucherAdmin(ReadOnlyAdmin):
    list_display = ["number", "unit", "call", "technician", "status", "cover", "total_due", "settlement", "signed_at"]
    list_filter = ["status", "cover", "settlement", "unit"]
    search_fields = ["number", "call__number", "call__customer__name"]
    list_select_related = ["unit", "call", "technician"]
    exclude = ["signature_png"]
    inlines = [VoucherPartInline]


@admin.register(FeeCollection)
class FeeCollectionAdmin(ReadOnlyAdmin):
    list_display = ["receipt_number", "unit", "technician", "kind", "amount", "collected_at", "status", "received_by"]
    list_filter = ["status", "kind", "unit"]
    search_fields = ["receipt_number", "voucher__number"]
    list_select_related = ["unit", "technician", "received_by"]


@admin.register(FeeAdjustment)
class FeeAdjustmentAdmin(ReadOnlyAdmin):
    list_display = ["voucher", "unit", "kind", "amount", "reason", "created_by", "created_at"]
    list_filter = ["kind", "unit"]
    search_fields = ["voucher__number", "reason"]
    list_select_related = ["voucher", "unit", "created_by"]


@admin.register(RepairCard)
class RepairCardAdmin(ReadOnlyAdmin):
    list_display = ["number", "unit", "call", "status", "promised_at", "technician"]
    list_filter = ["status", "unit"]
    search_fields = ["number", "call__number", "call__customer__name"]
    list_select_related = ["unit", "call", "technician"]


@admin.register(RegisterEntry)
class RegisterEntryAdmin(ReadOnlyAdmin):
    list_display = ["receipt_number", "unit", "item_description", "taken_at", "storage_location", "released_at"]
    list_filter = ["unit", "release_kind"]
    search_fields = ["receipt_number", "item_description", "call__number"]
    list_select_related = ["unit"]
    exclude = ["release_signature_png"]


@admin.register(RepairCardDelay)
class RepairCardDelayAdmin(ReadOnlyAdmin):
    list_display = ["card", "promised_at", "reported_by", "escalated_at", "new_promised_at", "customer_notice"]
    list_filter = ["unit", "customer_notice"]
    list_select_related = ["card", "reported_by"]
