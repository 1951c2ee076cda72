"""Demo field service for seed_demo: vouchers (free, paid on site, invoiced), fees, carry-ins in every state."""

import datetime as dt
import io
from decimal import Decimal

from django.utils import timezone

from parts import services as parts_services
from parts.models import Part, StockMinimum

from . import services
from .models import RepairCard, ServiceVoucher, Zone


def _demo_signature() -> bytes:
    from PIL import Image, ImageDraw

    image = Image.new("RGBA", (360, 120), (0, 0, 0, 0))
    ImageDraw.Draw(image).line(
        [(14, 90), (60, 30), (95, 85), (140, 35), (190, 80), (250, 40), (340, 70)], fill=(20, 20, 60, 255), width=4
    )
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


DEMO_PARTS = [
    # part number, name, unit price, free under warranty, in store, issued to the technician, unit's minimum
    ("FUSE-5A", "保险丝 5A", Decimal("3.50"), True, 200, 40, 50),
    ("MB-100", "主控板", Decimal("260.00"), True, 3, 2, 5),
    ("PSU-220", "电源板 220V", Decimal("180.00"), True, 6, 1, 2),
    ("RL-9", "搓纸轮", Decimal("15.50"), True, 30, 10, 10),
    ("TN-10", "碳粉盒", Decimal("80.00"), False, 12, 4, 4),
]


def seed_parts(*, unit, dispatcher, tech) -> dict:
    """The parts catalogue, the unit's store and the technician's van (issue 14), through the services."""
    catalogue = {}
    for number, name, price, warranty_free, in_store, issued, minimum in DEMO_PARTS:
        part, created = Part.objects.get_or_create(
            part_number=number, defaults={"name": name, "unit_price": price, "warranty_free": warranty_free}
        )
        catalogue[number] = part
        if not created:
            continue
        parts_services.part_stock_receive(user=dispatcher, unit_id=unit.pk, part_id=part.pk, quantity=in_store)
        parts_services.part_issue_to_technician(
            user=dispatcher, technician_id=tech.pk, part_id=part.pk, quantity=issued
        )
        StockMinimum.objects.get_or_create(part=part, unit=unit, defaults={"minimum_quantity": minimum})
    return catalogue


def seed_field_service(*, units, users, stdout=None) -> None:
    """Safe to run again: does nothing once any voucher exists."""
    if ServiceVoucher.objects.exists():
        return

    dispatcher, tech = users["dispatcher"], users["tech"]
    unit = units["sh-centre"]
    catalogue = seed_parts(unit=unit, dispatcher=dispatcher, tech=tech)
    urban = Zone.objects.get(code="urban")
    now = timezone.now()
    signature = _demo_signature()
    specs = [
        # customer, phone, e-mail, warranty days from today, labour, what happens
        ("浦江电梯配件厂", "021-5555-0301", "", -200, Decimal("120.00"), "fee"),
        ("华联超市", "021-5555-0302", "", 200, Decimal("0.00"), "free"),
        ("新锦江酒店", "021-5555-0303", "", -30, Decimal("680.00"), "invoice"),
        ("东华印务", "021-5555-0304", "print@example.com", -90, Decimal("60.00"), "carry_in"),
        ("申通仓储", "021-5555-0305", "", -90, Decimal("60.00"), "carry_in_late"),
        ("徐汇医院设备科", "021-5555-0306", "", -90, Decimal("60.00"), "carry_in_returned"),
    ]
    for i, (name, phone, email, warranty_days, labour, scenario) in enumerate(specs, start=1):
        call = services.repair_call_log(
            user=dispatcher,
            unit=unit,
            received_at=now - dt.timedelta(minutes=20 + i),
            contact_name=name[:2] + "经理",
            contact_phone=phone,
            problem="设备运行异常，报错 F%02d" % i,
            new_customer=services.NewCustomer(
                name=name, phone=phone, email=email, address=f"上海市黄浦区示范路 {i} 号"
            ),
            new_site=services.NewSite(address=f"上海市黄浦区示范路 {i} 号", zone=urban),
            new_product=services.NewProduct(
                model="FX-%d00" % i,
                serial_number="FS2026%04d" % i,
                warranty_end=(now + dt.timedelta(days=warranty_days)).date(),
            ),
        )
        services.repair_call_dispatch(user=dispatcher, call_id=call.pk, technician=tech)
        services.repair_call_record_arrival(user=tech, call_id=call.pk)
        call.refresh_from_db()
        voucher = services.service_voucher_create(
            user=tech,
            call_id=call.pk,
            departed_at=timezone.now(),
            work_done="检查设备，清洁并更换保险丝" if scenario != "invoice" else "更换主控板及传感器",
            parts=[
                services.PartLine(part_number="FUSE-5A", quantity=2, unit_price=Decimal("3.50"), description="保险丝")
            ],
            labour_charge=labour,
        )
        services.service_voucher_sign(
            user=tech, voucher_id=voucher.pk, signature_png=signature, signed_by_name=call.contact_name
        )
        if scenario == "fee":
            services.fee_collection_record(
                user=tech,
                voucher_id=voucher.pk,
                amount=Decimal("127.00"),
                collected_at=now - dt.timedelta(days=2),
            )
        if scenario in ("fee", "free", "invoice"):
            services.repair_call_resolve(user=tech, call_id=call.pk, outcome=voucher.work_done)
            continue
        card = services.carry_in_open(
            user=tech,
            call_id=call.pk,
            voucher_id=voucher.pk,
            fault_found="电源板烧毁",
            work_planned="更换电源板并老化测试 24 小时",
            parts_planned="PSU-220 × 1",
            promised_at=now + dt.timedelta(days=2),
            items_received="电源线一根，外壳有划痕",
        )
        services.register_entry_receive(
            user=dispatcher, entry_id=card.register_entry.pk, storage_location="维修间 A-%d" % i
        )
        services.repair_card_transition(user=tech, card_id=card.pk, to_status=RepairCard.Status.IN_REPAIR)
        if scenario == "carry_in_late":
            # Promised for yesterday and never reported: the periodic check escalates it.
            RepairCard.objects.filter(pk=card.pk).update(promised_at=now - dt.timedelta(days=1))
            services.repair_cards_escalate_late(now=now)
            # A charged carry-in: a quote for the power board and labour, approved by phone.
            services.repair_quote_save(
                user=tech,
                card_id=card.pk,
                labour_charge=Decimal("120.00"),
                lines=[services.QuoteLine(part_id=catalogue["PSU-220"].pk, quantity=1)],
            )
            services.repair_quote_approve_by_phone(user=tech, card_id=card.pk, approved_by_name=call.contact_name)
        if scenario == "carry_in_returned":
            services.repair_card_transition(user=tech, card_id=card.pk, to_status=RepairCard.Status.REPAIRED)
            services.register_entry_release(
                user=dispatcher,
                entry_id=card.register_entry.pk,
                release_kind="picked_up",
                released_to_name=call.contact_name,
                signature_png=signature,
            )
    if stdout is not None:
        stdout.write("Field service demo: vouchers, a fee to hand over, an invoice, carry-ins (one late).")
