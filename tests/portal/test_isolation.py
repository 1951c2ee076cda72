"""Another customer's record is a 404 on every portal URL that names one (DOMAIN 11).

Built on the security matrix's world (the demo's data through the services): unit B's objects of every kind,
each with a contact person of its customer, another customer of the same unit and one of unit A.
"""

import pytest
from django.urls import reverse

from complaints.models import CustomerOpinion
from repairs.models import RepairCall
from tests.security.conftest import PORTAL_OWNER, customer_principal, fast_pdfs, portal_owner, world  # noqa: F401

URLS = {
    "call": "portal:call_detail",
    "signed_voucher": "portal:voucher_pdf",
    "fee": "portal:fee_receipt_pdf",
    "card": "portal:pickup_receipt_pdf",
    "notice": "portal:notice_pdf",
}


def test_every_portal_object_kind_is_checked_here():
    assert set(URLS) == set(PORTAL_OWNER)


@pytest.mark.parametrize("kind", sorted(URLS))
def test_only_the_owning_customers_contact_opens_it(world, fast_pdfs, db, kind):  # noqa: F811
    obj = world.objects[kind]
    url = reverse(URLS[kind], args=[obj.pk])
    owner = world.client(customer_principal(portal_owner(obj, kind)))
    assert owner.get(url).status_code == 200
    assert world.portal_strangers
    for stranger in world.portal_strangers:
        assert world.client(stranger).get(url).status_code == 404
        assert world.client(stranger).post(url).status_code in (404, 405)


def test_lists_show_only_the_customers_own_records(world, db):  # noqa: F811
    call = world.objects["call"]
    owner = world.client(customer_principal(call.customer))
    stranger = world.client(world.portal_strangers[0])
    for name in ("portal:home", "portal:calls"):
        assert call.number in owner.get(reverse(name)).text or name == "portal:home"
        assert call.number not in stranger.get(reverse(name)).text
    theirs = RepairCall.objects.filter(customer=call.customer).values_list("number", flat=True)
    page = stranger.get(reverse("portal:calls")).text
    assert not any(number in page for number in theirs)
    assert call.product is None or call.product.serial_number not in stranger.get(reverse("portal:equipment")).text


def test_a_stranger_cannot_attach_an_opinion_or_a_call_to_anothers_records(world, db):  # noqa: F811
    call = world.objects["call"]
    stranger = world.client(world.portal_strangers[0])
    opinions = CustomerOpinion.objects.count()
    calls = RepairCall.objects.count()
    response = stranger.post(reverse("portal:opinions"), {"kind": "complaint", "text": "x", "call": call.pk})
    assert response.status_code == 400
    response = stranger.post(
        reverse("portal:call_new"),
        {"site": call.site_id, "problem": "x", "contact_name": "x", "contact_phone": "13800138000"},
    )
    assert response.status_code == 400
    assert (CustomerOpinion.objects.count(), RepairCall.objects.count()) == (opinions, calls)
