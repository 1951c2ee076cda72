"""Inputs the form fuzzer found (tests/security/test_fuzz_forms.py), kept as plain regressions."""

import pytest
from django.urls import reverse

from .field import call_on_site, draft_voucher


@pytest.mark.parametrize("price", ["sNaN", "NaN", "-Infinity", "1e999999"])
def test_a_non_number_part_price_is_a_form_error_not_a_server_error(client, dispatcher, technician, price):
    call = call_on_site(dispatcher=dispatcher, technician=technician)
    voucher = draft_voucher(technician=technician, call=call)
    client.force_login(technician)
    response = client.post(
        reverse("repairs:voucher_edit", args=[voucher.pk]),
        {"parts-TOTAL_FORMS": "4", "parts-INITIAL_FORMS": "0", "parts-0-unit_price": price},
    )
    assert response.status_code in (200, 400)
