"""The day's cards of a unit, printed for mailing: Chinese, one card per page, address block, link and QR code."""

import io

from django.urls import reverse
from django.utils import timezone
from pypdf import PdfReader

from complaints.documents import qr_data_uri, survey_card_link
from complaints.models import SurveyBatch
from repairs import services as repair_services
from tests.factories import CustomerFactory, SiteFactory, log_call

from .conftest import card_of, run_for


def test_the_batch_prints_one_card_per_page_with_the_customers_address_and_link(client, dispatcher, technician):
    customers = [
        CustomerFactory(unit=dispatcher.unit, name="上海精密机械有限公司", address="上海市浦东新区张江路 100 号"),
        CustomerFactory(unit=dispatcher.unit, name="东方印刷厂", address="上海市闵行区莘庄工业区 8 号"),
    ]
    calls = [log_call(dispatcher=dispatcher, site=SiteFactory(customer=c)) for c in customers]
    repair_services.repair_call_dispatch(user=dispatcher, call_id=calls[0].pk, technician=technician)
    run_for(timezone.localdate())
    batch = SurveyBatch.objects.get()

    client.force_login(dispatcher)
    response = client.get(reverse("complaints:batch_pdf", args=[batch.pk]))

    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    pages = PdfReader(io.BytesIO(response.content)).pages
    assert len(pages) == 2
    for page, call, customer in zip(pages, calls, customers, strict=True):
        text = page.extract_text()
        assert "客户意见调查卡" in text
        assert customer.name in text
        assert "张江路" in text or "莘庄" in text
        assert "态度" in text and "答应事情的办理" in text
        card = card_of(call)
        assert card.display_number in text
        assert f"/s/{card.pk}/" in text.replace("\n", "")


def test_the_link_and_its_qr_code_point_at_the_cards_own_form(client, issued_card):
    link = survey_card_link(issued_card)
    assert link.endswith(f"/s/{issued_card.pk}/{issued_card.token}/")
    assert qr_data_uri(link).startswith("data:image/svg+xml")
    path = link.split("://", 1)[1].split("/", 1)[1]
    assert client.get("/" + path).status_code == 200


def test_the_batch_list_shows_counts_with_a_fixed_number_of_queries(client, dispatcher, django_assert_max_num_queries):
    client.force_login(dispatcher)
    log_call(dispatcher=dispatcher)
    run_for(timezone.localdate())
    with django_assert_max_num_queries(8):
        page = client.get(reverse("complaints:batch_list"))
    assert page.status_code == 200
    for _ in range(5):
        log_call(dispatcher=dispatcher)
    run_for(timezone.localdate())
    with django_assert_max_num_queries(8):
        page = client.get(reverse("complaints:batch_list"))
    assert ">6<" in page.text.replace(" ", "")
