from decimal import Decimal

import pytest

from parts.models import Part


@pytest.fixture
def part(db):
    return Part.objects.create(part_number="FU-220", name="Fuser unit", unit_price=Decimal("50.00"))


@pytest.fixture
def consumable(db):
    return Part.objects.create(part_number="TN-10", name="Toner", unit_price=Decimal("80.00"), warranty_free=False)


@pytest.fixture(autouse=True)
def _english():
    """Messages are asserted in English, whatever language an earlier test left active."""
    from django.utils import translation

    with translation.override("en"):
        yield
