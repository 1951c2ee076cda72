import datetime as dt
from decimal import Decimal

import pytest

from contracts.models import ContractType, VisitFrequency
from contracts.services import contract_create
from tests.factories import CustomerFactory, ProductFactory, SiteFactory


@pytest.fixture
def contract_type(db):
    # The data migration's default: one calendar month (made again after a transactional test flushed it).
    contract_type, _created = ContractType.objects.get_or_create(
        code="standard", defaults={"name": "标准保养合同 Standard maintenance"}
    )
    return contract_type


@pytest.fixture
def make_contract(contract_type):
    """A contract made through the service, as a dispatcher makes it; returns the contract."""

    def make(*, user, start_on: dt.date, end_on: dt.date, customer=None, product=None, sites=(), **kwargs):
        customer = customer or CustomerFactory(unit=user.unit, email=kwargs.pop("email", "customer@example.com"))
        if product is None and not sites:
            product = ProductFactory(customer=customer, warranty_end=None)
        return contract_create(
            user=user,
            unit=user.unit,
            customer=customer,
            contract_type=kwargs.pop("contract_type", contract_type),
            start_on=start_on,
            end_on=end_on,
            fee=kwargs.pop("fee", Decimal("1200.00")),
            visit_frequency=kwargs.pop("visit_frequency", VisitFrequency.QUARTERLY),
            serial_numbers=[product.serial_number] if product else [],
            sites=list(sites),
            **kwargs,
        )

    return make


@pytest.fixture
def site_of(db):
    def make(customer):
        return SiteFactory(customer=customer)

    return make
