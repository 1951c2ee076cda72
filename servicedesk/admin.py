from django.contrib import admin
from django.contrib.admin.models import LogEntry
from django.contrib.auth.admin import GroupAdmin as BaseGroupAdmin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.contrib.auth.models import Group
from django.utils.translation import gettext_lazy as _

from .models import (
    CalendarException,
    CompanyProfile,
    Notification,
    OrgUnit,
    StatusChange,
    User,
    WorkingCalendar,
    WorkingWindow,
)
from .roles import role_label

admin.site.site_header = _("Service desk administration")
admin.site.site_title = _("Service desk")


@admin.register(OrgUnit)
class OrgUnitAdmin(admin.ModelAdmin):
    list_display = ["code", "name", "name_en", "kind", "parent", "is_active"]
    list_filter = ["kind", "is_active"]
    search_fields = ["code", "name", "name_en"]


@admin.register(User)
class UserAdmin(BaseUserAdmin):
    list_display = ["username", "first_name", "last_name", "unit", "email", "is_active"]
    list_filter = ["unit", "groups", "is_active", "is_staff"]
    list_select_related = ["unit"]
    fieldsets = (*BaseUserAdmin.fieldsets, (_("Service desk"), {"fields": ("unit", "phone")}))
    add_fieldsets = (*BaseUserAdmin.add_fieldsets, (_("Service desk"), {"fields": ("unit", "groups")}))

    # Administrators keep the users and their roles; only a superuser makes superusers or grants permissions
    # outside the roles, and only a superuser edits a superuser (its password included): no escalation.
    def get_readonly_fields(self, request, obj=None):
        readonly = list(super().get_readonly_fields(request, obj))
        if not request.user.is_superuser:
            readonly += ["is_superuser", "user_permissions"]
        return readonly

    def has_change_permission(self, request, obj=None):
        if obj is not None and obj.is_superuser and not request.user.is_superuser:
            return False
        return super().has_change_permission(request, obj)

    # A user named in the admin log is deactivated, never deleted: LogEntry rows go with their user (CASCADE),
    # and the log is the record of who changed the rule tables (issue 8, audit). The database refuses it too
    # (servicedesk migration 0004); asking here turns that into no delete button rather than an error page.
    # Nor does anyone delete themselves: the admin logs the deletion under their name first, so it would fail.
    def formfield_for_manytomany(self, db_field, request, **kwargs):
        field = super().formfield_for_manytomany(db_field, request, **kwargs)
        if db_field.name == "groups":  # a group is a role: shown by its label, not its code
            field.label_from_instance = lambda group: role_label(group.name)
        return field

    def has_delete_permission(self, request, obj=None):
        if obj is not None and obj.is_superuser and not request.user.is_superuser:
            return False
        if obj is not None and (obj.pk == request.user.pk or LogEntry.objects.filter(user=obj).exists()):
            return False
        return super().has_delete_permission(request, obj)

    def get_actions(self, request):
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)  # the bulk delete asks no per-user question
        return actions


class WorkingWindowInline(admin.TabularInline):
    model = WorkingWindow
    extra = 0


class CalendarExceptionInline(admin.TabularInline):
    model = CalendarException
    extra = 0


@admin.register(WorkingCalendar)
class WorkingCalendarAdmin(admin.ModelAdmin):
    list_display = ["name", "timezone"]
    inlines = [WorkingWindowInline, CalendarExceptionInline]


admin.site.unregister(Group)


@admin.register(Group)
class RoleGroupAdmin(BaseGroupAdmin):
    """The groups are the roles (servicedesk.roles): listed by their labels, in the reader's language."""

    list_display = ["role"]

    @admin.display(description=_("role"), ordering="name")
    def role(self, obj):
        return role_label(obj.name)


def _status_label(change: StatusChange, code: str) -> str:
    """A state code of the changed record's model as its label ("draft" → 草稿)."""
    if not code:
        return "—"
    model = change.content_type.model_class()
    status = getattr(model, "Status", None)
    try:
        return str(status(code).label) if status else code
    except ValueError:
        return code


@admin.register(StatusChange)
class StatusChangeAdmin(admin.ModelAdmin):
    """History is evidence: readable here, never edited."""

    list_display = ["at", "content_type", "object_id", "from_state", "to_state", "by"]
    # Not by state: the codes are many models' own (their labels are shown in the list).
    list_filter = ["content_type"]
    list_select_related = ["content_type", "by"]
    date_hierarchy = "at"

    @admin.display(description=_("from"), ordering="from_status")
    def from_state(self, obj):
        return _status_label(obj, obj.from_status)

    @admin.display(description=_("to"), ordering="to_status")
    def to_state(self, obj):
        return _status_label(obj, obj.to_status)

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Notification)
class NotificationAdmin(admin.ModelAdmin):
    # A notice written by kind has no subject until it is sent: the list shows its kind and object too.
    list_display = [
        *("created_at", "__str__", "channel", "kind", "object_id"),
        *("to_email", "to_phone", "sent_at", "attempts"),
    ]
    list_filter = ["channel", "sent_at"]
    search_fields = ["subject", "to_email", "dedupe_key", "kind"]
    readonly_fields = [f.name for f in Notification._meta.fields]

    def has_add_permission(self, request):
        return False


@admin.register(CompanyProfile)
class CompanyProfileAdmin(admin.ModelAdmin):
    list_display = ["name", "phone", "service_hotline"]

    def has_add_permission(self, request):
        return not CompanyProfile.objects.exists()
