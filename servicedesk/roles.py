"""Roles are Django groups; this module is the one place that says what each may do.

Group names are the role codes; their labels are translated for display.
"""

from django.db.models import TextChoices
from django.utils.translation import gettext_lazy as _


class Role(TextChoices):
    DISPATCHER = "dispatcher", _("Dispatcher / clerk")
    TECHNICIAN = "technician", _("Technician")
    SUPERVISOR = "supervisor", _("Service supervisor")
    SERVICE_DEPARTMENT = "service_department", _("Service department staff")
    DEPUTY_GM = "deputy_gm", _("Deputy general manager")
    DEPARTMENT_HEAD = "department_head", _("Department head")
    GM_OFFICE = "gm_office", _("General manager's office")
    ACCOUNTING = "accounting", _("Accounting")
    ADMINISTRATOR = "administrator", _("Administrator")


_VIEW_CALLS = ["repairs.view_repaircall", "repairs.view_customer"]
_DESK = [
    *_VIEW_CALLS,
    "repairs.log_call",
    "repairs.dispatch_call",
    "repairs.cancel_call",
    "repairs.close_call",
    "repairs.add_customer",
]

# app_label.codename per role. Administrators also get every permission on the reference tables.
ROLE_PERMISSIONS: dict[str, list[str]] = {
    Role.DISPATCHER: _DESK,
    Role.TECHNICIAN: [*_VIEW_CALLS, "repairs.attend_call"],
    Role.SUPERVISOR: [*_DESK, "repairs.attend_call"],
    Role.SERVICE_DEPARTMENT: _VIEW_CALLS,
    Role.DEPUTY_GM: _VIEW_CALLS,
    Role.DEPARTMENT_HEAD: _VIEW_CALLS,
    Role.GM_OFFICE: _VIEW_CALLS,
    Role.ACCOUNTING: _VIEW_CALLS,
    Role.ADMINISTRATOR: _VIEW_CALLS,
}

# Reference tables an administrator keeps in the admin site.
ADMIN_MODELS = [
    ("servicedesk", "orgunit"),
    ("servicedesk", "companyprofile"),
    ("servicedesk", "user"),
    ("servicedesk", "workingcalendar"),
    ("servicedesk", "workingwindow"),
    ("servicedesk", "calendarexception"),
    ("repairs", "zone"),
    ("repairs", "customer"),
    ("repairs", "site"),
    ("repairs", "product"),
    ("django_celery_beat", "periodictask"),
    ("django_celery_beat", "intervalschedule"),
    ("django_celery_beat", "crontabschedule"),
]


def sync_role_groups(**kwargs):
    """Create one group per role and give it exactly its permissions (runs after every migrate)."""
    from django.contrib.auth.models import Group, Permission
    from django.db.models import Q

    for role in Role:
        group, _created = Group.objects.get_or_create(name=role.value)
        wanted = Q(pk__in=[])
        for perm in ROLE_PERMISSIONS.get(role, []):
            app_label, codename = perm.split(".")
            wanted |= Q(content_type__app_label=app_label, codename=codename)
        if role == Role.ADMINISTRATOR:
            for app_label, model in ADMIN_MODELS:
                wanted |= Q(content_type__app_label=app_label, content_type__model=model)
        group.permissions.set(Permission.objects.filter(wanted))
