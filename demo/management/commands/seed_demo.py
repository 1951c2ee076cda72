"""Demo data: units, a user for every role, customers, sites in both zones, calls in every state.

Safe to run again: it creates what is missing and leaves the rest alone.
"""

import datetime as dt

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management.base import BaseCommand
from django.db import transaction
from django.utils import timezone

from complaints.demo import seed_complaints, seed_surveys
from contracts.demo import seed_contracts
from penalties.demo import seed_penalties
from repairs import services
from repairs.demo import seed_field_service
from repairs.models import RepairCall, Zone
from servicedesk.models import CalendarException, OrgUnit, WorkingCalendar, WorkingWindow
from servicedesk.roles import Role

DEMO_PASSWORD = "demo-pass-2026"  # noqa: S105 - printed for the demo on purpose

UNITS = [
    ("service-dept", "服务部", "Service Department", OrgUnit.Kind.SERVICE_DEPARTMENT),
    ("sh-centre", "上海服务中心", "Shanghai Service Centre", OrgUnit.Kind.SERVICE_CENTRE),
    ("sz-branch", "苏州分公司", "Suzhou Branch", OrgUnit.Kind.BRANCH),
    ("quality", "质量管理部", "Quality Management", OrgUnit.Kind.HEAD_OFFICE),
    ("gm-office", "总经理室", "GM Office", OrgUnit.Kind.HEAD_OFFICE),
    ("accounting", "会计部门", "Accounting", OrgUnit.Kind.HEAD_OFFICE),
]

# username, full name, unit code, roles, is_staff
USERS = [
    ("dispatcher", "王 调度", "sh-centre", [Role.DISPATCHER], False),
    ("tech", "李 技术", "sh-centre", [Role.TECHNICIAN], False),
    ("tech2", "张 技术", "sh-centre", [Role.TECHNICIAN], False),
    ("supervisor", "赵 主任", "sh-centre", [Role.SUPERVISOR], False),
    ("sz-dispatcher", "陈 调度", "sz-branch", [Role.DISPATCHER], False),
    ("sz-tech", "刘 技术", "sz-branch", [Role.TECHNICIAN], False),
    ("sz-supervisor", "周 主任", "sz-branch", [Role.SUPERVISOR], False),
    ("servicedept", "孙 服务部", "service-dept", [Role.SERVICE_DEPARTMENT], False),
    ("deputygm", "吴 副总", "service-dept", [Role.DEPUTY_GM], False),
    ("salesmgr", "钱 营业经理", "service-dept", [Role.SALES_MANAGER], False),
    ("depthead", "郑 部长", "quality", [Role.DEPARTMENT_HEAD], False),
    ("gmoffice", "冯 总经理室", "gm-office", [Role.GM_OFFICE], False),
    ("accountant", "何 会计", "accounting", [Role.ACCOUNTING], False),
    ("admin", "系统 管理员", "service-dept", [Role.ADMINISTRATOR], True),
]


class Command(BaseCommand):
    help = "Create demo units, users for every role, customers, sites and calls in every state."

    @transaction.atomic
    def handle(self, *args, **options):
        units = {}
        for code, name, name_en, kind in UNITS:
            units[code], _ = OrgUnit.objects.get_or_create(
                code=code, defaults={"name": name, "name_en": name_en, "kind": kind}
            )
        User = get_user_model()
        users = {}
        for username, full_name, unit_code, roles, is_staff in USERS:
            last, first = full_name.split(" ", 1)
            user, created = User.objects.get_or_create(
                username=username,
                defaults={
                    "first_name": first,
                    "last_name": last,
                    "unit": units[unit_code],
                    "email": f"{username}@example.com",
                    "is_staff": is_staff,
                },
            )
            if created:
                user.set_password(DEMO_PASSWORD)
                user.save()
                user.groups.set(Group.objects.filter(name__in=[r.value for r in roles]))
            users[username] = user

        calendar, created = WorkingCalendar.objects.get_or_create(
            name="标准工作日", defaults={"name_en": "Standard working week"}
        )
        if created:
            WorkingWindow.objects.create(calendar=calendar, start=dt.time(8, 30), end=dt.time(12, 0))
            WorkingWindow.objects.create(calendar=calendar, start=dt.time(13, 0), end=dt.time(17, 30))
            CalendarException.objects.create(
                calendar=calendar, date=dt.date(2027, 1, 1), name="元旦", name_en="New Year"
            )
        Zone.objects.get_or_create(
            code="industrial-park",
            defaults={
                "name": "工业园区",
                "name_en": "Industrial park (business hours)",
                "response_hours": 6,
                "calendar": calendar,
            },
        )
        seed_contracts(units=units, users=users, stdout=self.stdout)
        # Decided before the field-service demo, which logs calls of its own.
        calls_seeded = RepairCall.objects.exists()
        seed_field_service(units=units, users=users, stdout=self.stdout)

        if calls_seeded:
            seed_surveys(users=users, stdout=self.stdout)
            seed_complaints(units=units, users=users, stdout=self.stdout)
            seed_penalties(units=units, users=users, stdout=self.stdout)
            self._print_logins()
            return
        urban, suburban = Zone.objects.get(code="urban"), Zone.objects.get(code="suburban")
        now = timezone.now()
        specs = [
            # customer, phone, site, zone, minutes ago, final state
            ("上海精密机械有限公司", "021-5555-0101", "上海市浦东新区张江路 100 号", urban, 30, "logged"),
            ("东方印刷厂", "021-5555-0102", "上海市闵行区莘庄工业区 8 号", suburban, 200, "dispatched"),
            ("华东食品", "021-5555-0103", "上海市徐汇区漕溪北路 5 号", urban, 330, "dispatched"),
            ("宏达纺织", "021-5555-0104", "上海市嘉定区安亭镇 12 号", suburban, 120, "on_site"),
            ("申城物流", "021-5555-0105", "上海市静安区南京西路 88 号", urban, 240, "resolved"),
            ("金桥电子", "021-5555-0106", "上海市浦东新区金桥路 20 号", urban, 300, "closed"),
            ("长江化工", "021-5555-0107", "上海市宝山区长江西路 66 号", suburban, 60, "cancelled"),
        ]
        dispatcher, tech, supervisor = users["dispatcher"], users["tech"], users["supervisor"]
        for i, (name, phone, address, zone, minutes, state) in enumerate(specs, start=1):
            call = services.repair_call_log(
                user=dispatcher,
                unit=units["sh-centre"],
                received_at=now - dt.timedelta(minutes=minutes),
                contact_name=name[:2] + "先生",
                contact_phone=phone,
                problem="设备无法启动，显示错误代码 E0%d" % i,
                new_customer=services.NewCustomer(name=name, phone=phone, address=address),
                new_site=services.NewSite(address=address, zone=zone),
                new_product=services.NewProduct(
                    model="SX-%d00" % i,
                    serial_number="SN2026%04d" % i,
                    warranty_end=(now + dt.timedelta(days=90 * (i % 3 - 1))).date(),
                ),
            )
            if state == "cancelled":
                services.repair_call_cancel(user=dispatcher, call_id=call.pk, reason="客户已自行解决")
                continue
            if state == "logged":
                continue
            services.repair_call_dispatch(user=dispatcher, call_id=call.pk, technician=tech)
            if state == "dispatched":
                continue
            services.repair_call_record_arrival(user=tech, call_id=call.pk)
            if state == "on_site":
                continue
            # The customer was out: the visit is closed with the reason and a witness (issue 14), which
            # also puts these visits on the supervisor's list of unsigned visits in the demo.
            services.visit_record_no_signature(
                user=tech,
                visit_id=call.visits.get().pk,
                reason="absent",
                witness_name="前台 张小姐",
                note="客户外出，前台确认维修完成",
            )
            services.repair_call_resolve(user=tech, call_id=call.pk, outcome="更换电源模块，测试正常")
            if state == "closed":
                services.repair_call_close(user=supervisor, call_id=call.pk)
        # A Suzhou call, so branch isolation is visible in the demo.
        services.repair_call_log(
            user=users["sz-dispatcher"],
            unit=units["sz-branch"],
            received_at=now - dt.timedelta(minutes=45),
            contact_name="钱女士",
            contact_phone="0512-5555-0201",
            problem="打印头卡纸",
            new_customer=services.NewCustomer(name="苏州园区制造", phone="0512-5555-0201"),
            new_site=services.NewSite(address="苏州工业园区星湖街 1 号", zone=suburban),
        )
        seed_surveys(users=users, stdout=self.stdout)
        seed_complaints(units=units, users=users, stdout=self.stdout)
        seed_penalties(units=units, users=users, stdout=self.stdout)
        self._print_logins()

    def _print_logins(self):
        self.stdout.write("Demo logins (password for all: %s):" % DEMO_PASSWORD)
        for username, _full_name, unit_code, roles, _staff in USERS:
            self.stdout.write(f"  {username:<14} {', '.join(str(r.label) for r in roles):<32} {unit_code}")
