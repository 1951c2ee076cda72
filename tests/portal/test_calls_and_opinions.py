"""A customer's own repair call and opinion go through the desk's services (one write path)."""

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone

from complaints import services as complaint_services
from complaints.case_selectors import opinion_inbox
from complaints.models import CustomerOpinion
from repairs.models import RepairCall
from repairs.services import repair_call_log
from servicedesk.exceptions import ApplicationError
from servicedesk.models import StatusChange
from tests.complaints.conftest import people  # noqa: F401  one person per role
from tests.factories import ProductFactory, SiteFactory


@pytest.fixture
def quality_unit(db):
    from tests.factories import OrgUnitFactory

    return OrgUnitFactory(code="qm", name="Quality", kind="quality")


@pytest.fixture
def factory_unit(db):
    from tests.factories import OrgUnitFactory

    return OrgUnitFactory(code="mfg", name="Manufacturing", kind="manufacturing")


def test_a_call_logged_in_the_portal_is_on_the_dispatchers_board_with_channel_portal(
    portal_client, product, contact, dispatcher, client
):
    before = timezone.now()
    response = portal_client.post(
        reverse("portal:call_new"),
        {"product": product.pk, "problem": "无法开机", "contact_name": "王经理", "contact_phone": "13800138000"},
    )
    after = timezone.now()
    assert response.status_code == 302
    call = RepairCall.objects.get()
    assert response.url == reverse("portal:call_detail", args=[call.pk])
    assert call.channel == RepairCall.Channel.PORTAL
    assert call.customer == product.customer and call.site == product.site and call.product == product
    assert call.unit == product.customer.unit
    assert before <= call.received_at <= after
    # Clause 十九: the urban site's six hours from the moment it was submitted.
    assert call.attend_by == call.received_at + dt.timedelta(hours=6)
    assert call.created_by is None and not call.logged_late
    change = StatusChange.objects.get(object_id=call.pk, to_status=RepairCall.Status.LOGGED)
    assert change.by is None and "王经理" in change.note

    client.force_login(dispatcher)
    board = client.get(reverse("repairs:board"))
    assert call.number in board.text
    detail = client.get(call.get_absolute_url())
    assert str(RepairCall.Channel.PORTAL.label) in detail.text

    # The customer follows it.
    page = portal_client.get(reverse("portal:call_detail", args=[call.pk]))
    assert page.status_code == 200 and call.number in page.text
    assert call.get_status_display() in page.text


def test_a_suburban_site_gets_seven_hours(portal_client, suburban_site):
    response = portal_client.post(
        reverse("portal:call_new"),
        {"site": suburban_site.pk, "problem": "漏水", "contact_name": "王经理", "contact_phone": "13800138000"},
    )
    assert response.status_code == 302
    call = RepairCall.objects.get()
    assert call.site == suburban_site and call.product is None
    assert call.attend_by == call.received_at + dt.timedelta(hours=7)


def test_another_customers_product_or_site_cannot_be_chosen(portal_client, other_customer, site):
    theirs = ProductFactory(customer=other_customer, site=SiteFactory(customer=other_customer))
    for data in ({"product": theirs.pk}, {"site": theirs.site.pk}):
        response = portal_client.post(
            reverse("portal:call_new"), {**data, "problem": "x", "contact_name": "王", "contact_phone": "13800138000"}
        )
        assert response.status_code == 400
    assert not RepairCall.objects.exists()


def test_the_service_refuses_a_customer_submission_for_someone_else(customer, other_customer, site, dispatcher):
    common = {
        "unit": customer.unit,
        "received_at": timezone.now(),
        "contact_name": "王",
        "contact_phone": "13800138000",
        "problem": "x",
        "site": site,
        "channel": RepairCall.Channel.PORTAL,
    }
    with pytest.raises(ApplicationError):
        repair_call_log(user=None, submitted_by_customer=other_customer, customer=customer, **common)
    with pytest.raises(ApplicationError):  # a staff user and a customer at once
        repair_call_log(user=dispatcher, submitted_by_customer=customer, customer=customer, **common)
    with pytest.raises(ApplicationError):  # and no staff user at all is not a customer either
        repair_call_log(user=None, customer=customer, **common)
    assert not RepairCall.objects.exists()


def test_a_received_time_is_not_the_customers_to_choose(customer, site):
    call = repair_call_log(
        user=None,
        submitted_by_customer=customer,
        unit=customer.unit,
        customer=customer,
        site=site,
        received_at=timezone.now() - dt.timedelta(days=2),
        contact_name="王",
        contact_phone="13800138000",
        problem="x",
        channel=RepairCall.Channel.PORTAL,
    )
    assert timezone.now() - call.received_at < dt.timedelta(minutes=1)
    assert not call.logged_late


@pytest.mark.parametrize("serious", [True, False])
def test_a_complaint_from_the_portal_is_routed_like_one_taken_by_phone(
    portal_client,
    customer,
    unit,
    people,  # noqa: F811
    serious,
):
    data = {"kind": "complaint", "text": "技术员迟到两次", **({"serious": "on"} if serious else {})}
    assert portal_client.post(reverse("portal:opinions"), data).status_code == 302
    online = CustomerOpinion.objects.get()
    by_phone = complaint_services.customer_opinion_record(
        unit=unit,
        customer=customer,
        kind="complaint",
        source=CustomerOpinion.Source.PHONE,
        severity="serious" if serious else "general",
        text="技术员迟到两次",
        received_at=timezone.now(),
        by=people["dispatcher"],
    )
    assert online.source == CustomerOpinion.Source.PORTAL and online.customer == customer
    for attribute in ("queue", "unit_id", "status", "severity", "kind", "complained"):
        assert getattr(online, attribute) == getattr(by_phone, attribute), attribute
    handler = people["deputy_gm"] if serious else people["service"]
    inbox = list(opinion_inbox(user=handler))
    assert online in inbox and by_phone in inbox


def test_a_complaint_about_a_call_names_the_call_and_its_technician(portal_client, customer, site, dispatcher):
    call = repair_call_log(
        user=dispatcher,
        unit=customer.unit,
        customer=customer,
        site=site,
        received_at=timezone.now(),
        contact_name="王",
        contact_phone="13800138000",
        problem="x",
    )
    response = portal_client.post(reverse("portal:opinions"), {"kind": "suggestion", "text": "好", "call": call.pk})
    assert response.status_code == 302
    assert CustomerOpinion.objects.get().call == call
    page = portal_client.get(reverse("portal:opinions"))
    assert "好" in page.text
