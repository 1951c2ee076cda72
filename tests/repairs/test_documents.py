"""The printed documents: PDF text extracted with pypdf has the customer, the number and the Chinese labels."""

import datetime as dt
import io
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone
from pypdf import PdfReader

from repairs import services
from servicedesk.models import CompanyProfile

from .field import call_on_site, carried_in, signed_voucher


def _text(response) -> str:
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    reader = PdfReader(io.BytesIO(response.content))
    # Table cells wrap long words; compare without the line breaks and spaces the layout adds.
    return "".join("".join(page.extract_text() for page in reader.pages).split())


@pytest.fixture(autouse=True)
def company(db):
    CompanyProfile.objects.create(name="东方设备服务有限公司", service_hotline="400-800-1234")


def test_the_service_voucher_pdf(client, dispatcher, technician):
    call = call_on_site(dispatcher=dispatcher, technician=technician, customer_name="上海精密机械")
    voucher = signed_voucher(technician=technician, call=call)
    client.force_login(technician)
    response = client.get(reverse("repairs:voucher_pdf", args=[voucher.pk]))
    text = _text(response)
    assert f'filename="{voucher.number}.pdf"' in response["Content-Disposition"]
    for expected in (
        "服务凭证",
        voucher.number,
        "上海精密机械",
        "客户签名",
        "应收金额",
        "东方设备服务有限公司",
        "200.50",
    ):
        assert expected in text, expected
    reader = PdfReader(io.BytesIO(response.content))
    assert any(reader.pages[0].images), "the signature image is in the PDF"


def test_the_pickup_receipt_and_repair_card_pdfs(client, dispatcher, technician):
    card = carried_in(dispatcher=dispatcher, technician=technician, customer_name="宏达纺织")
    client.force_login(technician)
    receipt = client.get(reverse("repairs:pickup_receipt_pdf", args=[card.pk]))
    text = _text(receipt)
    assert f'filename="{card.register_entry.receipt_number}.pdf"' in receipt["Content-Disposition"]
    for expected in ("客户商品领取收据", card.register_entry.receipt_number, "宏达纺织", "修护卡号"):
        assert expected in text, expected
    text = _text(client.get(reverse("repairs:card_pdf", args=[card.pk])))
    for expected in ("修护卡", card.number, "宏达纺织", "预计完成时间", "故障情况"):
        assert expected in text, expected


def test_the_register_extract_and_reconciliation_pdfs(client, dispatcher, technician):
    card = carried_in(dispatcher=dispatcher, technician=technician, customer_name="申城物流")
    voucher = signed_voucher(technician=technician, call=call_on_site(dispatcher=dispatcher, technician=technician))
    services.fee_collection_record(
        user=technician, voucher_id=voucher.pk, amount=Decimal("88.80")
    )
    client.force_login(dispatcher)
    text = _text(client.get(reverse("repairs:register_pdf")))
    for expected in ("客户商品进出登记簿", card.register_entry.receipt_number, "申城物流", "REG-"):
        assert expected in text, expected
    response = client.get(reverse("repairs:fee_reconciliation_pdf"))
    text = _text(response)
    for expected in ("现场收费日对账表", "FEE-", "SJ-", "88.80", "未缴回", "未收费", "未结余额"):
        assert expected in text, expected


def test_the_letter_telling_the_customer_of_a_new_time(client, dispatcher, technician, supervisor):
    card = carried_in(dispatcher=dispatcher, technician=technician, customer_name="金桥电子")
    delay = services.repair_card_reschedule(
        user=supervisor, card_id=card.pk, new_promised_at=timezone.now() + dt.timedelta(days=4), reason="等待零件"
    )
    client.force_login(supervisor)
    text = _text(client.get(reverse("repairs:delay_letter_pdf", args=[delay.pk])))
    for expected in ("致客户函", "金桥电子", card.number, "等待零件"):
        assert expected in text, expected


def test_the_fee_receipt_pdf_has_the_amount_in_figures_and_chinese_capitals(client, dispatcher, technician, unit):
    call = call_on_site(dispatcher=dispatcher, technician=technician, customer_name="上海精密机械")
    voucher = signed_voucher(technician=technician, call=call)
    fee = services.fee_collection_record(user=technician, voucher_id=voucher.pk, amount=Decimal("100.00"))
    client.force_login(technician)
    response = client.get(reverse("repairs:fee_receipt_pdf", args=[fee.pk]))
    assert f'filename="{fee.receipt_number}.pdf"' in response["Content-Disposition"]
    text = _text(response)
    for expected in (
        "收款收据",
        fee.receipt_number,
        "东方设备服务有限公司",
        "上海精密机械",
        "人民币壹佰元整",
        "100.00",
        voucher.number,
        "100.50",  # the balance still due of the 200.50 total
    ):
        assert expected in text, expected
