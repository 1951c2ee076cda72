"""The parts catalogue and the stock tables in the admin site. Stock changes only through the services."""

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path
from django.utils.translation import gettext_lazy as _

from servicedesk.exceptions import ApplicationError

from .catalogue import part_catalogue_import
from .models import Part, PriceTolerance, Stock, StockMinimum, StockMovement

MAX_UPLOAD = 10 * 1024 * 1024


class CatalogueImportForm(forms.Form):
    file = forms.FileField(label=_("CSV or Excel (.xlsx) file"))


@admin.register(Part)
class PartAdmin(admin.ModelAdmin):
    list_display = ("part_number", "name", "unit_price", "warranty_free", "is_active")
    list_filter = ("is_active", "warranty_free")
    search_fields = ("part_number", "name")
    change_list_template = "admin/parts/part/change_list.html"
    actions = ("make_inactive", "make_active")

    def get_urls(self):
        return [
            path("import/", self.admin_site.admin_view(self.import_view), name="parts_part_import"),
            *super().get_urls(),
        ]

    def import_view(self, request):
        if not (self.has_add_permission(request) and self.has_change_permission(request)):
            raise PermissionDenied
        form = CatalogueImportForm(request.POST or None, request.FILES or None)
        if request.method == "POST" and form.is_valid():
            upload = form.cleaned_data["file"]
            if upload.size > MAX_UPLOAD:
                form.add_error("file", _("The file is larger than 10 MB."))
            else:
                try:
                    outcome = part_catalogue_import(user=request.user, content=upload.read(), filename=upload.name)
                except ApplicationError as exc:
                    form.add_error("file", exc.message)
                else:
                    self.message_user(
                        request,
                        _("Catalogue imported: %(created)d new parts, %(updated)d updated.")
                        % {"created": outcome.created, "updated": outcome.updated},
                        messages.SUCCESS,
                    )
                    return redirect("admin:parts_part_changelist")
        context = {
            **self.admin_site.each_context(request),
            "form": form,
            "opts": self.model._meta,
            "title": _("Import the parts catalogue"),
        }
        return TemplateResponse(request, "admin/parts/part/import.html", context)

    @admin.action(description=_("Withdraw the selected parts from use"), permissions=["change"])
    def make_inactive(self, request, queryset):
        self._set_active(request, queryset, False)

    @admin.action(description=_("Put the selected parts back in use"), permissions=["change"])
    def make_active(self, request, queryset):
        self._set_active(request, queryset, True)

    def _set_active(self, request, queryset, active: bool):
        # One by one, so the admin log records each change (the audit of the rule tables).
        for part in queryset.exclude(is_active=active):
            part.is_active = active
            part.save(update_fields=["is_active"])
            self.log_change(request, part, [{"changed": {"fields": ["is_active"]}}])


class ReadOnlyAdmin(admin.ModelAdmin):
    """Stock and movements are written by the services only (row locks, movements): read here."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Stock)
class StockAdmin(ReadOnlyAdmin):
    list_display = ("part", "unit", "technician", "quantity")
    list_filter = ("unit",)
    search_fields = ("part__part_number", "part__name")
    list_select_related = ("part", "unit", "technician")


@admin.register(StockMovement)
class StockMovementAdmin(ReadOnlyAdmin):
    list_display = ("at", "kind", "part", "unit", "technician", "quantity", "difference", "reference_text", "by")
    list_filter = ("kind", "unit")
    search_fields = ("part__part_number", "reference_text")
    list_select_related = ("part", "unit", "technician", "by")


@admin.register(StockMinimum)
class StockMinimumAdmin(admin.ModelAdmin):
    list_display = ("part", "unit", "minimum_quantity")
    list_filter = ("unit",)
    autocomplete_fields = ("part",)
    list_select_related = ("part", "unit")


@admin.register(PriceTolerance)
class PriceToleranceAdmin(admin.ModelAdmin):
    list_display = ("__str__", "percent")
