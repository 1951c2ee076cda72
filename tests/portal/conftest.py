import re

import pytest
from django.core.cache import cache
from django.test import Client

from repairs.models import CustomerContact, Zone
from servicedesk.models import Notification
from tests.factories import CustomerFactory, ProductFactory, SiteFactory
from tests.security.conftest import portal_login


@pytest.fixture(autouse=True)
def _fresh_rate_limits():
    """The rate limits count in the cache: each test starts with none used."""
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def customer(unit):
    return CustomerFactory(unit=unit, name="华东机械厂", phone="021-6000-0001")


@pytest.fixture
def site(customer):
    return SiteFactory(customer=customer, address="浦东新区张江路 1 号", zone=Zone.objects.get(code="urban"))


@pytest.fixture
def suburban_site(customer):
    return SiteFactory(customer=customer, address="嘉定区安亭镇 9 号", zone=Zone.objects.get(code="suburban"))


@pytest.fixture
def product(customer, site):
    return ProductFactory(customer=customer, site=site, model="SX-200", serial_number="SN-PORTAL-1")


@pytest.fixture
def contact(customer):
    return CustomerContact.objects.create(
        customer=customer, name="王经理", email="wang@example.com", mobile="13800138000"
    )


@pytest.fixture
def other_customer(unit):
    """Another customer of the same unit: the unit boundary does not separate them, only the customer does."""
    return CustomerFactory(unit=unit, name="西郊纺织公司")


@pytest.fixture
def other_contact(other_customer):
    return CustomerContact.objects.create(customer=other_customer, name="李主任", email="li@example.com")


@pytest.fixture
def portal_client(contact):
    client = Client()
    portal_login(client, contact)
    return client


def sent_link(email: str) -> str:
    """The path of the sign-in link in the last e-mail the outbox holds for ``email``."""
    notice = Notification.objects.filter(to_email=email).order_by("-pk").first()
    assert notice is not None, f"no e-mail to {email} in the outbox"
    return re.search(r"https?://[^/\s]+(/portal/sign-in/link/[^\s]+/)", notice.body).group(1)


def sent_code(phone: str) -> str:
    notice = Notification.objects.filter(to_phone=phone, channel=Notification.Channel.SMS).order_by("-pk").first()
    assert notice is not None, f"no SMS to {phone} in the outbox"
    return re.search(r"\b(\d{6})\b", notice.body).group(1)
