"""Demo maintenance contracts for ``seed_demo``: active, inside its notice window, expired, renewed, another unit's.

Safe to run again: contracts are looked up by number and only the missing ones are made.
"""

import datetime as dt
from decimal import Decimal

from django.utils import timezone

from repairs.models import Customer, Product, Site, Zone

from .models import Contract, ContractType, VisitFrequency
from .services import contract_create, contract_notices_issue, contract_term_renew
from .windows import default_term_end

# number, unit code, user, customer, phone, e-mail, serial, model, starts (days from today), months, fee
DEMO_CONTRACTS = [
    (
        "MC-DEMO-0001",
        "sh-centre",
        "dispatcher",
        "浦江制药有限公司",
        "021-5555-0301",
        "pj@example.com",
        "SNC0001",
        "SX-300",
        -120,
        12,
        "18000.00",
    ),
    (
        "MC-DEMO-0002",
        "sh-centre",
        "dispatcher",
        "海港冷链物流",
        "021-5555-0302",
        "cold@example.com",
        "SNC0002",
        "SX-500",
        -345,
        12,
        "9600.00",
    ),
    (
        "MC-DEMO-0003",
        "sh-centre",
        "dispatcher",
        "新华书店仓储中心",
        "021-5555-0303",
        "",
        "SNC0003",
        "SX-100",
        -430,
        12,
        "6000.00",
    ),
    (
        "MC-DEMO-0004",
        "sh-centre",
        "dispatcher",
        "徐汇精工",
        "021-5555-0304",
        "xh@example.com",
        "SNC0004",
        "SX-200",
        -355,
        12,
        "7200.00",
    ),
    (
        "MC-DEMO-0005",
        "sz-branch",
        "sz-dispatcher",
        "苏州园区精密",
        "0512-5555-0305",
        "",
        "SNC0005",
        "SX-300",
        -60,
        12,
        "12000.00",
    ),
]


def seed_contracts(*, units: dict, users: dict, stdout=None) -> None:
    contract_type = ContractType.objects.filter(is_active=True).order_by("pk").first()
    if contract_type is None:
        return
    today = timezone.localdate()
    zone = Zone.objects.filter(is_active=True).order_by("response_hours").first()
    for number, unit_code, username, name, phone, email, serial, model, start_days, months, fee in DEMO_CONTRACTS:
        if Contract.objects.filter(number=number).exists():
            continue
        unit, user = units[unit_code], users[username]
        customer, _created = Customer.objects.get_or_create(
            unit=unit, name=name, defaults={"phone": phone, "email": email}
        )
        site = Site.objects.filter(customer=customer).first() or Site.objects.create(
            customer=customer, address=f"{name} 厂区", zone=zone
        )
        Product.objects.get_or_create(
            serial_number=serial,
            defaults={
                "customer": customer,
                "site": site,
                "model": model,
                "warranty_end": today - dt.timedelta(days=400),
            },
        )
        start_on = today + dt.timedelta(days=start_days)
        contract = contract_create(
            user=user,
            unit=unit,
            customer=customer,
            contract_type=contract_type,
            start_on=start_on,
            end_on=default_term_end(start_on=start_on, months=months),
            fee=Decimal(fee),
            visit_frequency=VisitFrequency.QUARTERLY,
            serial_numbers=[serial],
            handled_by=user,
            number=number,
        )
        if number == "MC-DEMO-0004":  # renewed a little before its end: the next term gets its own notice later
            term = contract.terms.get()
            contract_term_renew(
                user=user,
                term_id=term.pk,
                end_on=default_term_end(start_on=term.end_on + dt.timedelta(days=1)),
                fee=Decimal(fee),
                visit_frequency=VisitFrequency.QUARTERLY,
            )
    # The daily run, as beat would do it this morning: MC-DEMO-0002 is inside its window.
    issued = contract_notices_issue(today=today)
    if stdout is not None and issued:
        stdout.write(f"Issued {issued} maintenance expiry notice(s).")
