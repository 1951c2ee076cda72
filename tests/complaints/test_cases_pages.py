"""Every new page answers its own roles and refuses the others; bad input is a form error, never a 500."""

import pytest
from django.urls import reverse

from complaints.models import ComplaintCase, CustomerOpinion

PAGES = [
    ("complaints:case_inbox", "dispatcher"),
    ("complaints:case_list", "quality"),
    ("complaints:case_open", "dispatcher"),
    ("complaints:opinion_record", "supervisor"),
    ("complaints:opinion_inbox", "deputy_gm"),
    ("complaints:gm_office", "gm_office"),
    ("complaints:case_reports", "deputy_gm"),
    ("complaints:receivables", "accounting"),
]


@pytest.mark.parametrize("name,who", PAGES)
def test_each_page_opens_for_its_role(client, people, name, who):
    client.force_login(people[who])
    assert client.get(reverse(name)).status_code == 200


@pytest.mark.parametrize("name", ["complaints:gm_office", "complaints:case_reports", "complaints:case_open"])
def test_technicians_see_none_of_the_case_pages(client, technician, name):
    client.force_login(technician)
    assert client.get(reverse(name)).status_code == 403


def test_opening_a_case_from_a_complaint_on_the_page(client, flow, people):
    opinion = flow.open().opinion
    client.force_login(people["supervisor"])
    url = reverse("complaints:case_open") + f"?opinion={opinion.pk}"
    assert client.get(url).status_code == 200
    response = client.post(
        url, {"kind": "service", "description": "再次投诉", "claimed_amount": "0", "product_description": ""}
    )
    assert response.status_code == 302
    assert ComplaintCase.objects.filter(opinion=opinion).count() == 2


def test_a_bad_amount_is_a_form_error_and_saves_nothing(client, flow, people, unit):
    from tests.factories import CustomerFactory

    customer = CustomerFactory(unit=unit)
    client.force_login(people["dispatcher"])
    response = client.post(
        reverse("complaints:case_open"),
        {
            "unit": unit.pk,
            "customer": customer.pk,
            "kind": "product",
            "severity": "general",
            "source": "phone",
            "received_at": "2026-01-05T10:00",
            "description": "x",
            "claimed_amount": "-5",
        },
    )
    assert response.status_code == 200 and "claimed_amount" in response.text
    assert not ComplaintCase.objects.exists() and not CustomerOpinion.objects.exists()


def test_a_stage_form_missing_its_fields_is_refused_on_the_page(client, flow, people):
    case = flow.to(flow.open(), "investigation")
    client.force_login(people["quality"])
    page = client.get(case.get_absolute_url())
    assert 'id="stage-cause_analysis"' in page.text
    response = client.post(reverse("complaints:case_transition", args=[case.pk, "cause_analysis"]), {"note": "x"})
    assert response.status_code == 400
    assert ComplaintCase.objects.get(pk=case.pk).status == "investigation"


def test_a_stale_transition_changes_nothing(client, flow, people):
    case = flow.to(flow.open(), "investigation")
    client.force_login(people["dispatcher"])
    response = client.post(reverse("complaints:case_transition", args=[case.pk, "investigation"]), {"note": "x"})
    assert response.status_code == 302
    assert ComplaintCase.objects.get(pk=case.pk).status == "investigation"


def test_someone_else_sees_no_stage_form(client, flow, people):
    case = flow.to(flow.open(), "investigation")
    client.force_login(people["factory"])
    assert 'id="stage-' not in client.get(case.get_absolute_url()).text
    response = client.post(
        reverse("complaints:case_transition", args=[case.pk, "cause_analysis"]),
        {"investigation_findings": "x", "cause_category": 1, "responsible_unit": people["factory"].unit_id},
    )
    assert response.status_code == 400
    assert ComplaintCase.objects.get(pk=case.pk).status == "investigation"
