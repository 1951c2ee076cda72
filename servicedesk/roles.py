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
    SALES_MANAGER = "sales_manager", _("Sales department manager")


def role_label(code: str) -> str:
    """A role (a group's name) as a person reads it, in their language; "" for none."""
    if not code:
        return ""
    try:
        return str(Role(code).label)
    except ValueError:
        return code


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

# Field service (DOMAIN 2 and 3): vouchers, fees collected on site, carry-in repair, the register.
_FIELD_VIEW = [
    "repairs.view_servicevoucher",
    "repairs.view_feecollection",
    "repairs.view_repaircard",
    "repairs.view_registerentry",
]
_FIELD_PERMISSIONS = {
    Role.DISPATCHER: [*_FIELD_VIEW, "repairs.invoice_voucher", "repairs.manage_register"],
    Role.TECHNICIAN: [*_FIELD_VIEW, "repairs.fill_voucher", "repairs.open_carry_in"],
    Role.SUPERVISOR: [
        *_FIELD_VIEW,
        "repairs.fill_voucher",
        "repairs.open_carry_in",
        "repairs.invoice_voucher",
        "repairs.manage_register",
        "repairs.supervise_repairs",
    ],
    Role.ACCOUNTING: ["repairs.view_servicevoucher", "repairs.view_feecollection"],
}
for _role, _perms in _FIELD_PERMISSIONS.items():
    ROLE_PERMISSIONS[_role] = [*ROLE_PERMISSIONS[_role], *_perms]

# Visits (issue 14): an arrival typed by hand is the desk's (dispatcher, supervisor), never the technician's.
for _role in (Role.DISPATCHER, Role.SUPERVISOR):
    ROLE_PERMISSIONS[_role] = [*ROLE_PERMISSIONS[_role], "repairs.enter_arrival"]

# Survey cards, customer opinions and the technicians' appraisal (DOMAIN 5 and 6).
_SURVEY_DESK = ["complaints.view_surveycard", "complaints.enter_survey_answer", "complaints.print_survey_cards"]
_SURVEY_PERMISSIONS = {
    Role.DISPATCHER: _SURVEY_DESK,
    Role.SUPERVISOR: [*_SURVEY_DESK, "complaints.view_customeropinion", "complaints.view_appraisal"],
    Role.SERVICE_DEPARTMENT: [
        "complaints.view_surveycard",
        "complaints.view_customeropinion",
        "complaints.acknowledge_opinion",
        "complaints.view_appraisal",
    ],
    Role.DEPUTY_GM: ["complaints.view_customeropinion", "complaints.view_appraisal"],
    Role.GM_OFFICE: ["complaints.view_customeropinion", "complaints.view_appraisal"],
}
for _role, _perms in _SURVEY_PERMISSIONS.items():
    ROLE_PERMISSIONS[_role] = [*ROLE_PERMISSIONS[_role], *_perms]

# Maintenance contracts, expiry notices and renewal follow-ups (DOMAIN 4, clause 二十).
_CONTRACT_DESK = ["contracts.view_contract", "contracts.manage_contracts", "contracts.follow_up_renewals"]
_CONTRACT_PERMISSIONS = {
    Role.DISPATCHER: _CONTRACT_DESK,
    Role.SUPERVISOR: _CONTRACT_DESK,
    Role.SERVICE_DEPARTMENT: ["contracts.view_contract"],
}
for _role, _perms in _CONTRACT_PERMISSIONS.items():
    ROLE_PERMISSIONS[_role] = [*ROLE_PERMISSIONS[_role], *_perms]

# Suggestions, complaints and complaint cases (DOMAIN 6 and 7, clauses 二十三, 二十六, 二十八).
# Quality management is a head-office unit whose head has the department_head role.
_CASE_VIEW = ["complaints.view_complaintcase", "complaints.view_customeropinion"]
_CASE_DESK = [*_CASE_VIEW, "complaints.record_opinion", "complaints.open_case", "complaints.work_case"]
# Dispatchers record complaints and work cases but do not read the opinions list (issue 5's rule).
_CASE_CLERK = [
    "complaints.view_complaintcase",
    "complaints.record_opinion",
    "complaints.open_case",
    "complaints.work_case",
]
_CASE_REPORTS = ["complaints.view_case_reports", "complaints.view_reminderslip"]
_CASE_PERMISSIONS = {
    Role.DISPATCHER: [*_CASE_CLERK, "complaints.check_returns"],
    Role.SUPERVISOR: [*_CASE_DESK, "complaints.check_returns", "complaints.record_follow_up"],
    Role.SERVICE_DEPARTMENT: [*_CASE_DESK, *_CASE_REPORTS, "complaints.handle_opinion"],
    Role.DEPUTY_GM: [
        *_CASE_VIEW,
        *_CASE_REPORTS,
        "complaints.work_case",
        "complaints.acknowledge_opinion",
        "complaints.handle_serious_opinion",
    ],
    Role.DEPARTMENT_HEAD: [*_CASE_VIEW, *_CASE_REPORTS, "complaints.work_case"],
    Role.GM_OFFICE: [*_CASE_VIEW, *_CASE_REPORTS, "complaints.work_case", "complaints.audit_case"],
    Role.ACCOUNTING: [*_CASE_VIEW, "complaints.post_returns", "complaints.view_returnallowance"],
}
for _role, _perms in _CASE_PERMISSIONS.items():
    ROLE_PERMISSIONS[_role] = [*ROLE_PERMISSIONS[_role], *_perms]

# Responsibility and penalties (DOMAIN 8, clause 六): the GM office proposes and adjusts; the managers
# who approve are the deputy GM and department heads (never one who prepared it or is penalised by it);
# accounting reads the ledger for payroll and enters resale proceeds; administrators keep the criteria table.
_PENALTY_VIEW = ["penalties.view_penaltyruling", "penalties.view_caseloss", "penalties.view_penalty_ledger"]
_PENALTY_PERMISSIONS = {
    Role.GM_OFFICE: [
        *_PENALTY_VIEW,
        "penalties.propose_ruling",
        "penalties.add_resaleproceeds",
        "penalties.view_penalty_audit",
    ],
    Role.DEPUTY_GM: [*_PENALTY_VIEW, "penalties.approve_ruling"],
    Role.DEPARTMENT_HEAD: [*_PENALTY_VIEW, "penalties.approve_ruling"],
    Role.ACCOUNTING: [*_PENALTY_VIEW, "penalties.add_resaleproceeds"],
    Role.ADMINISTRATOR: ["penalties.view_auditentry"],
}
for _role, _perms in _PENALTY_PERMISSIONS.items():
    ROLE_PERMISSIONS[_role] = [*ROLE_PERMISSIONS[_role], *_perms]

# The sales department manager (营业经理) approves comprehensive opinions within the approval authority (DOMAIN 7,
# step 5) and reads the cases, opinions and reports that lead to them; a higher rank approves as well.
ROLE_PERMISSIONS[Role.SALES_MANAGER] = [
    *_VIEW_CALLS,
    *_CASE_VIEW,
    *_CASE_REPORTS,
    "complaints.work_case",
    "complaints.view_appraisal",
]
# The service dashboard (clause 十九 as a number): supervisors for their unit, head office and management for all.
for _role in (
    Role.SUPERVISOR,
    Role.SERVICE_DEPARTMENT,
    Role.SALES_MANAGER,
    Role.DEPUTY_GM,
    Role.DEPARTMENT_HEAD,
    Role.GM_OFFICE,
):
    ROLE_PERMISSIONS[_role] = [*ROLE_PERMISSIONS[_role], "dashboard.view_dashboard"]
# Parts (DOMAIN 2, the standard's parts management): the clerk and the supervisor keep the stock; technicians see
# it (their van); a supervisor may move a catalogue price within the tolerance.
_PARTS_VIEW = ["parts.view_stock", "parts.view_part"]
_PARTS_PERMISSIONS = {
    Role.DISPATCHER: [*_PARTS_VIEW, "parts.manage_stock"],
    Role.TECHNICIAN: _PARTS_VIEW,
    Role.SUPERVISOR: [*_PARTS_VIEW, "parts.manage_stock", "parts.override_part_price"],
    Role.ACCOUNTING: _PARTS_VIEW,
}
for _role, _perms in _PARTS_PERMISSIONS.items():
    ROLE_PERMISSIONS[_role] = [*ROLE_PERMISSIONS[_role], *_perms]

# Inbound e-mail (issue 15): the desk matches unknown senders and watches the quarantine; administrators see it too.
_INTAKE_DESK = ["intake.view_inboundmessage", "intake.match_inboundmessage", "intake.view_quarantine"]
for _role, _perms in {
    Role.DISPATCHER: _INTAKE_DESK,
    Role.SUPERVISOR: _INTAKE_DESK,
    Role.ADMINISTRATOR: ["intake.view_inboundmessage", "intake.view_quarantine"],
}.items():
    ROLE_PERMISSIONS[_role] = [*ROLE_PERMISSIONS[_role], *_perms]
# Notices by preference (notify): the clerk and the supervisor print and post the postal list of their unit.
for _role in (Role.DISPATCHER, Role.SUPERVISOR):
    ROLE_PERMISSIONS[_role] = [*ROLE_PERMISSIONS[_role], "notify.view_postalitem", "notify.post_letters"]

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
    ("complaints", "surveypolicy"),
    ("repairs", "unitfeepolicy"),
    ("contracts", "contracttype"),
    ("complaints", "causecategory"),
    ("complaints", "approvalauthority"),
    ("complaints", "stagedeadline"),
    ("penalties", "penaltykind"),
    ("penalties", "criteriaversion"),
    ("penalties", "criteriarow"),
    ("penalties", "resalewindowpolicy"),
    ("complaints", "rolerank"),
    ("complaints", "followuppolicy"),
    ("parts", "part"),
    ("parts", "stockminimum"),
    ("parts", "pricetolerance"),
    ("webhooks", "webhooksubscription"),
    ("webhooks", "webhookdelivery"),
    ("api", "apitoken"),
    ("notify", "noticerule"),
    ("notify", "usernoticesetting"),
    ("notify", "customernoticepreference"),
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
