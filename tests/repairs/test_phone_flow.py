"""The technician's flow on a phone (issue 16), as the server draws it: the next step after each tap."""

from decimal import Decimal
from urllib.parse import quote

from django.urls import reverse
from django.utils import timezone

from repairs.models import ServiceVoucher
from tests.factories import SiteFactory, log_call
from tests.repairs.field import call_on_site, carried_in, draft_voucher, signature_data_url, stock_van


def _sign(client, voucher):
    return client.post(
        reverse("repairs:voucher_sign", args=[voucher.pk]),
        {"signed_by_name": "王先生", "signature": signature_data_url(), "version": voucher.version},
    )


def test_the_fee_step_comes_right_after_the_signature(client, dispatcher, technician):
    call = call_on_site(dispatcher=dispatcher, technician=technician)  # warranty expired: paid on site
    voucher = draft_voucher(technician=technician, call=call)
    client.force_login(technician)
    response = _sign(client, voucher)
    voucher.refresh_from_db()
    assert voucher.status == ServiceVoucher.Status.SIGNED and voucher.fee_balance > 0
    assert response.status_code == 302 and response.url == voucher.get_absolute_url() + "#fee-form"
    page = client.get(voucher.get_absolute_url()).text
    # On a phone the fee form's column is shown first, above the voucher's details (the browser test measures it).
    assert '<div class="col-12 col-lg-5 call-card order-first order-lg-0">' in page and 'id="fee-form"' in page


def test_a_free_visit_has_no_fee_step_after_the_signature(client, dispatcher, technician):
    call = call_on_site(dispatcher=dispatcher, technician=technician, warranty_end="valid")
    voucher = draft_voucher(technician=technician, call=call, labour=Decimal("0.00"), parts=[])
    client.force_login(technician)
    response = _sign(client, voucher)
    assert response.status_code == 302 and response.url == voucher.get_absolute_url()


def test_the_voucher_form_adds_part_rows_from_the_catalogue_with_a_running_total(client, dispatcher, technician):
    call = call_on_site(dispatcher=dispatcher, technician=technician)
    stock_van(technician=technician, part_number="FU-220", unit_price=Decimal("50.25"), name="Fuser <unit>")
    client.force_login(technician)
    page = client.get(reverse("repairs:voucher_create", args=[call.pk])).text
    assert 'name="parts-TOTAL_FORMS" value="1"' in page  # one row to start with, more as needed
    assert '<template id="part-row-template">' in page and 'name="parts-__prefix__-part_number"' in page
    assert 'id="add-part"' in page and 'id="running-total"' in page
    assert '<option value="FU-220" data-price="50.25">Fuser &lt;unit&gt; · 50.25</option>' in page
    assert "js/voucher_parts.js" in page and "<script>" not in page  # a static file: the CSP allows no inline one
    # Rows added on the page are posted as the formset's further forms.
    response = client.post(
        reverse("repairs:voucher_create", args=[call.pk]),
        {
            "departed_at": timezone.localtime().strftime("%Y-%m-%dT%H:%M"),
            "work_done": "Fuser replaced",
            "labour_charge": "10.00",
            "parts-TOTAL_FORMS": "3",
            "parts-INITIAL_FORMS": "0",
            "parts-MAX_NUM_FORMS": "30",
            "parts-0-part_number": "FU-220",
            "parts-0-quantity": "1",
            "parts-2-part_number": "FU-220",
            "parts-2-quantity": "1",
        },
    )
    assert response.status_code == 302
    voucher = ServiceVoucher.objects.get(call=call)
    assert sorted(p.quantity for p in voucher.parts.all()) == [1, 1]
    assert voucher.total_due == Decimal("110.50")


def test_my_calls_are_cards_with_a_map_link_for_the_site(client, dispatcher, technician):
    site = SiteFactory(customer__unit=dispatcher.unit, address="上海市 淮海中路 88号 & 2楼")
    call = log_call(dispatcher=dispatcher, site=site)
    from repairs import services

    services.repair_call_dispatch(user=dispatcher, call_id=call.pk, technician=technician)
    client.force_login(technician)
    page = client.get(reverse("repairs:my_calls")).text
    assert f'data-call="{call.number}"' in page
    assert f'href="https://uri.amap.com/search?keyword={quote(site.address, safe="")}"' in page
    assert "上海市 淮海中路 88号 &amp; 2楼" in page


def test_the_repair_card_list_labels_each_cell_for_its_card_on_a_phone(client, dispatcher, technician):
    card = carried_in(dispatcher=dispatcher, technician=technician)
    client.force_login(technician)
    page = client.get(reverse("repairs:card_list")).text
    assert 'class="table table-sm cards-on-phone"' in page and "table-responsive" not in page
    assert f'<td data-label="Card"><a href="{card.get_absolute_url()}">{card.number}</a></td>' in page
    assert f'<td data-label="Receipt">{card.register_entry.receipt_number}</td>' in page
