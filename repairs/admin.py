from django.contrib import admin

from .models import Customer, Product, RepairCall, Site, Zone


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


@admin.register(Customer)
class CustomerAdmin(admin.ModelAdmin):
    list_display = ["name", "phone", "unit"]
    list_filter = ["unit"]
    search_fields = ["name", "phone", "products__serial_number"]
    inlines = [SiteInline, ProductInline]


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
