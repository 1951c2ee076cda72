"""Customers, products, contracts and opinions through the API: read only, scoped to the token's user."""

import datetime as dt
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from complaints.models import CustomerOpinion
from complaints.services import customer_opinion_record
from contracts.models import ContractType, VisitFrequency
from contracts.services import contract_create
from tests.factories import CustomerFactory, ProductFactory, UserFactory


def _contract(user, customer):
    product = ProductFactory(customer=customer, warranty_end=None)
    contract_type, _ = ContractType.objects.get_or_create(code="standard", defaults={"name": "Standard"})
    today = timezone.localdate()
    return contract_create(
        user=user,
        unit=user.unit,
        customer=customer,
        contract_type=contract_type,
        start_on=today - dt.timedelta(days=10),
        end_on=today + dt.timedelta(days=300),
        fee=Decimal("1200.00"),
        visit_frequency=VisitFrequency.QUARTERLY,
        serial_numbers=[product.serial_number],
        sites=[],
    )


def _opinion(unit, customer):
    return customer_opinion_record(
        unit=unit,
        customer=customer,
        kind=CustomerOpinion.Kind.COMPLAINT,
        source=CustomerOpinion.Source.PHONE,
        text="The technician came late",
        received_at=timezone.now(),
    )


@pytest.fixture
def two_units(unit, other_unit, dispatcher, other_dispatcher):
    mine = CustomerFactory(unit=unit, name="Mine Ltd")
    theirs = CustomerFactory(unit=other_unit, name="Theirs Ltd")
    return {
        "mine": mine,
        "theirs": theirs,
        "my_contract": _contract(dispatcher, mine),
        "their_contract": _contract(other_dispatcher, theirs),
        "my_opinion": _opinion(unit, mine),
        "their_opinion": _opinion(other_unit, theirs),
    }


def _ids(response):
    assert response.status_code == 200, response.content
    return {row["id"] for row in response.json()["results"]}


def test_each_list_shows_the_users_unit_only(api_for, two_units, dispatcher, unit):
    supervisor = UserFactory(username="sup", unit=unit, roles=["supervisor"])
    desk, sup = api_for(dispatcher), api_for(supervisor)
    assert _ids(desk.get("/api/v1/customers/")) == {two_units["mine"].pk}
    assert {p["customer"] for p in desk.get("/api/v1/products/").json()["results"]} == {two_units["mine"].pk}
    assert _ids(desk.get("/api/v1/contracts/")) == {two_units["my_contract"].pk}
    assert _ids(sup.get("/api/v1/opinions/")) == {two_units["my_opinion"].pk}
    contract = desk.get(f"/api/v1/contracts/{two_units['my_contract'].pk}/").json()
    assert contract["terms"][0]["status"] == "active"


def test_another_units_record_is_404(api_for, two_units, dispatcher, unit):
    supervisor = UserFactory(username="sup", unit=unit, roles=["supervisor"])
    desk = api_for(dispatcher)
    assert desk.get(f"/api/v1/customers/{two_units['theirs'].pk}/").status_code == 404
    assert desk.get(f"/api/v1/contracts/{two_units['their_contract'].pk}/").status_code == 404
    assert api_for(supervisor).get(f"/api/v1/opinions/{two_units['their_opinion'].pk}/").status_code == 404


def test_head_office_sees_every_unit(api_for, two_units, head_office_user):
    api = api_for(head_office_user)
    assert _ids(api.get("/api/v1/customers/")) >= {two_units["mine"].pk, two_units["theirs"].pk}
    assert _ids(api.get("/api/v1/opinions/")) == {two_units["my_opinion"].pk, two_units["their_opinion"].pk}


def test_a_role_without_the_pages_permission_gets_403(api_for, two_units, technician):
    # Technicians do not see the opinions list on the pages, nor through the API.
    assert api_for(technician).get("/api/v1/opinions/").status_code == 403


def test_a_user_without_a_unit_sees_nothing(api_for, two_units):
    nobody = UserFactory(username="nobody", unit=None, roles=["dispatcher"])
    assert _ids(api_for(nobody).get("/api/v1/customers/")) == set()


def test_keyset_pages_and_fixed_queries(api_for, dispatcher, unit):
    for i in range(55):
        CustomerFactory(unit=unit, name=f"C{i}")
    api = api_for(dispatcher)
    api.get("/api/v1/customers/")
    with CaptureQueriesContext(connection) as first_page:
        body = api.get("/api/v1/customers/").json()
    assert len(body["results"]) == 50 and body["next"]
    with CaptureQueriesContext(connection) as second_page:
        rest = api.get("/api/v1/customers/", {"after": body["next"]}).json()
    assert len(rest["results"]) == 5 and rest["next"] is None
    assert not {r["id"] for r in body["results"]} & {r["id"] for r in rest["results"]}
    assert len(first_page.captured_queries) == len(second_page.captured_queries)
    assert api.get("/api/v1/customers/", {"after": "-1"}).status_code == 400
