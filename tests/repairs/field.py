"""Helpers for the field-service tests: state built through the services, as users build it."""

import base64
import datetime as dt
import io
from decimal import Decimal

from django.utils import timezone

from repairs import services
from repairs.models import RepairCall
from tests.factories import CustomerFactory, ProductFactory, SiteFactory, log_call


def png_signature(*, blank: bool = False) -> bytes:
    from PIL import Image, ImageDraw

    image = Image.new("RGBA", (300, 100), (0, 0, 0, 0))
    if not blank:
        ImageDraw.Draw(image).line([(10, 80), (120, 20), (200, 70), (290, 30)], fill=(0, 0, 0, 255), width=4)
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


def signature_data_url(*, blank: bool = False) -> str:
    return "data:image/png;base64," + base64.b64encode(png_signature(blank=blank)).decode()


def call_on_site(*, dispatcher, technician, warranty_end="expired", email="", **kwargs):
    """A call whose technician has arrived. ``warranty_end``: "expired", "valid", None or a date."""
    customer = CustomerFactory(unit=dispatcher.unit, email=email, name=kwargs.pop("customer_name", None) or "华东精密")
    site = SiteFactory(customer=customer)
    today = timezone.localdate()
    if warranty_end == "expired":
        warranty_end = today - dt.timedelta(days=10)
    elif warranty_end == "valid":
        warranty_end = today + dt.timedelta(days=100)
    product = ProductFactory(customer=customer, warranty_end=warranty_end)
    call = log_call(dispatcher=dispatcher, site=site, product=product, **kwargs)
    services.repair_call_dispatch(user=dispatcher, call_id=call.pk, technician=technician)
    services.repair_call_record_arrival(user=technician, call_id=call.pk)
    call.refresh_from_db()
    return call


def stock_van(*, technician, part_number="FU-220", quantity=10, unit_price=Decimal("50.25"), name="Fuser", **extra):
    """A catalogue part (issue 14) and ``quantity`` of it in the technician's van, received and issued as a clerk."""
    from parts import services as parts_services
    from parts.models import Part
    from servicedesk.roles import Role
    from tests.factories import UserFactory

    part, _created = Part.objects.get_or_create(
        part_number=part_number, defaults={"name": name, "unit_price": unit_price, **extra}
    )
    clerk = UserFactory(username=f"storekeeper-{technician.unit_id}", unit=technician.unit, roles=[Role.DISPATCHER])
    parts_services.part_stock_receive(user=clerk, unit_id=technician.unit_id, part_id=part.pk, quantity=quantity)
    parts_services.part_issue_to_technician(user=clerk, technician_id=technician.pk, part_id=part.pk, quantity=quantity)
    return part


def draft_voucher(*, technician, call, labour=Decimal("100.00"), parts=None, misuse=False):
    now = timezone.now()
    if parts is None:
        # The parts come out of the van of the visit's technician (a supervisor may fill the voucher for them).
        visiting = RepairCall.objects.select_related("technician").get(pk=call.pk).technician or technician
        stock_van(technician=visiting, quantity=2)
    return services.service_voucher_create(
        user=technician,
        call_id=call.pk,
        departed_at=now,
        work_done="Replaced the fuser unit; test print OK.",
        parts=parts
        if parts is not None
        else [services.PartLine(part_number="FU-220", quantity=2, unit_price=Decimal("50.25"), description="Fuser")],
        labour_charge=labour,
        misuse=misuse,
    )


def signed_voucher(*, technician, call, **kwargs):
    voucher = draft_voucher(technician=technician, call=call, **kwargs)
    return services.service_voucher_sign(
        user=technician, voucher_id=voucher.pk, signature_png=png_signature(), signed_by_name="王先生"
    )


def carried_in(*, dispatcher, technician, promised_in=dt.timedelta(days=2), **kwargs):
    call = call_on_site(dispatcher=dispatcher, technician=technician, **kwargs)
    voucher = signed_voucher(technician=technician, call=call)
    card = services.carry_in_open(
        user=technician,
        call_id=call.pk,
        voucher_id=voucher.pk,
        fault_found="Main board burnt",
        work_planned="Replace the main board",
        parts_planned="MB-100 × 1",
        promised_at=timezone.now() + promised_in,
        items_received="Power cable",
    )
    return card
