import datetime as dt
from decimal import Decimal

import pytest
from django.utils import timezone

from contracts.selectors import contract_covering, is_covered
from contracts.services import contract_daily_run, contract_term_renew
from repairs.models import RepairCall
from tests.factories import CustomerFactory, ProductFactory, SiteFactory, log_call

D = dt.date


@pytest.fixture
def customer(dispatcher):
    return CustomerFactory(unit=dispatcher.unit)


@pytest.fixture
def site(customer):
    return SiteFactory(customer=customer)


@pytest.fixture
def product(customer, site):
    return ProductFactory(customer=customer, site=site, warranty_end=None)


def test_a_product_is_covered_from_the_first_to_the_last_day_of_a_term(dispatcher, make_contract, customer, product):
    contract = make_contract(
        user=dispatcher, customer=customer, product=product, start_on=D(2030, 1, 1), end_on=D(2030, 12, 31)
    )
    term = contract.terms.get()
    assert contract_covering(product=product, on=D(2029, 12, 31)) is None
    assert contract_covering(product=product, on=D(2030, 1, 1)) == term
    assert contract_covering(product=product, on=D(2030, 12, 31)) == term
    assert contract_covering(product=product, on=D(2031, 1, 1)) is None


def test_a_lapsed_contract_gives_no_cover(dispatcher, make_contract, customer, product):
    make_contract(user=dispatcher, customer=customer, product=product, start_on=D(2030, 1, 1), end_on=D(2030, 12, 31))
    contract_daily_run(today=D(2031, 1, 5))
    assert not is_covered(product=product, on=D(2031, 1, 5))
    # ... though a call received while it ran is still covered
    assert is_covered(product=product, on=D(2030, 12, 31))


def test_a_renewed_contract_covers_through_its_next_term(dispatcher, make_contract, customer, product):
    contract = make_contract(
        user=dispatcher, customer=customer, product=product, start_on=D(2030, 1, 1), end_on=D(2030, 12, 31)
    )
    second = contract_term_renew(
        user=dispatcher,
        term_id=contract.terms.get().pk,
        end_on=D(2031, 12, 31),
        fee=Decimal("1"),
        visit_frequency="yearly",
    )
    contract_daily_run(today=D(2031, 6, 1))
    assert contract_covering(product=product, on=D(2031, 6, 1)) == second


def test_a_gap_between_a_lapse_and_a_late_renewal_has_no_cover(dispatcher, make_contract, customer, product):
    contract = make_contract(
        user=dispatcher, customer=customer, product=product, start_on=D(2030, 1, 1), end_on=D(2030, 12, 31)
    )
    contract_term_renew(
        user=dispatcher,
        term_id=contract.terms.get().pk,
        start_on=D(2031, 2, 1),
        end_on=D(2032, 1, 31),
        fee=Decimal("1"),
        visit_frequency="yearly",
    )
    assert not is_covered(product=product, on=D(2031, 1, 15))
    assert is_covered(product=product, on=D(2031, 2, 1))


def test_a_covered_site_covers_every_product_there_and_calls_at_it(dispatcher, make_contract, customer, site):
    elsewhere = SiteFactory(customer=customer)
    there = ProductFactory(customer=customer, site=site, warranty_end=None)
    not_there = ProductFactory(customer=customer, site=elsewhere, warranty_end=None)
    make_contract(user=dispatcher, customer=customer, sites=[site], start_on=D(2030, 1, 1), end_on=D(2030, 12, 31))
    assert is_covered(product=there, on=D(2030, 6, 1))
    assert is_covered(site=site, on=D(2030, 6, 1))
    assert not is_covered(product=not_there, on=D(2030, 6, 1))
    assert not is_covered(site=elsewhere, on=D(2030, 6, 1))


def test_nothing_to_look_up_is_not_covered(db):
    assert contract_covering(on=D(2030, 1, 1)) is None


def _this_year(dispatcher, make_contract, customer, product):
    today = timezone.localdate()
    return make_contract(
        user=dispatcher,
        customer=customer,
        product=product,
        start_on=today - dt.timedelta(days=100),
        end_on=today + dt.timedelta(days=100),
    )


def test_a_call_on_a_covered_product_left_to_be_checked_is_a_contract_call(
    dispatcher, make_contract, customer, site, product
):
    _this_year(dispatcher, make_contract, customer, product)
    call = log_call(dispatcher=dispatcher, site=site, product=product)
    assert call.coverage == RepairCall.Coverage.CONTRACT


def test_the_dispatchers_choice_of_cover_is_kept(dispatcher, make_contract, customer, site, product):
    _this_year(dispatcher, make_contract, customer, product)
    call = log_call(dispatcher=dispatcher, site=site, product=product, coverage=RepairCall.Coverage.PAID)
    assert call.coverage == RepairCall.Coverage.PAID


def test_warranty_comes_before_the_contract(dispatcher, make_contract, customer, site, product):
    _this_year(dispatcher, make_contract, customer, product)
    product.warranty_end = timezone.localdate() + dt.timedelta(days=10)
    product.save()
    call = log_call(dispatcher=dispatcher, site=site, product=product)
    assert call.coverage == RepairCall.Coverage.WARRANTY


def test_a_call_after_the_contract_lapsed_stays_to_be_checked(dispatcher, make_contract, customer, site, product):
    today = timezone.localdate()
    make_contract(
        user=dispatcher,
        customer=customer,
        product=product,
        start_on=today - dt.timedelta(days=400),
        end_on=today - dt.timedelta(days=1),
    )
    call = log_call(dispatcher=dispatcher, site=site, product=product)
    assert call.coverage == RepairCall.Coverage.UNKNOWN


def test_a_call_at_a_covered_site_without_a_product_is_a_contract_call(dispatcher, make_contract, customer, site):
    today = timezone.localdate()
    make_contract(
        user=dispatcher,
        customer=customer,
        sites=[site],
        start_on=today - dt.timedelta(days=5),
        end_on=today + dt.timedelta(days=5),
    )
    call = log_call(dispatcher=dispatcher, site=site)
    assert call.coverage == RepairCall.Coverage.CONTRACT


# --- Issue 16: the call-logging look-up shows the cover a call would get, so choosing sets the form's cover ---------


def _lookup(client, dispatcher, q):
    from django.urls import reverse

    client.force_login(dispatcher)
    return client.get(reverse("repairs:customer_lookup"), {"q": q}).text


def test_the_lookup_marks_a_product_and_a_site_under_a_running_contract(client, dispatcher, make_contract, customer):
    today = timezone.localdate()
    covered_site, other_site = SiteFactory(customer=customer), SiteFactory(customer=customer)
    at_covered_site = ProductFactory(customer=customer, site=covered_site, warranty_end=None)
    named = ProductFactory(customer=customer, site=other_site, warranty_end=None)
    in_warranty = ProductFactory(customer=customer, site=covered_site, warranty_end=today + dt.timedelta(days=3))
    bare = ProductFactory(customer=customer, site=other_site, warranty_end=None)
    around_today = {"start_on": today - dt.timedelta(days=5), "end_on": today + dt.timedelta(days=5)}
    make_contract(user=dispatcher, customer=customer, sites=[covered_site], **around_today)
    make_contract(user=dispatcher, customer=customer, product=named, **around_today)
    page = _lookup(client, dispatcher, customer.name)
    assert f'id="site-{covered_site.pk}" data-cover="contract"' in page
    assert f'id="site-{other_site.pk}">' in page
    assert f'id="product-{at_covered_site.pk}" data-cover="contract"' in page
    assert f'id="product-{named.pk}" data-cover="contract"' in page
    assert f'id="product-{in_warranty.pk}" data-cover="warranty"' in page  # warranty comes first
    assert f'id="product-{bare.pk}">' in page
    # What the look-up promised is what the service decides when the call is saved.
    assert log_call(dispatcher=dispatcher, site=other_site, product=named).coverage == RepairCall.Coverage.CONTRACT
    assert log_call(dispatcher=dispatcher, site=other_site, product=bare).coverage == RepairCall.Coverage.UNKNOWN


def test_a_lapsed_contract_marks_nothing_in_the_lookup(client, dispatcher, make_contract, customer, site, product):
    today = timezone.localdate()
    make_contract(
        user=dispatcher,
        customer=customer,
        product=product,
        sites=[site],
        start_on=today - dt.timedelta(days=400),
        end_on=today - dt.timedelta(days=1),
    )
    page = _lookup(client, dispatcher, customer.name)
    assert 'data-cover="contract"' not in page


def test_the_lookup_reads_cover_in_a_fixed_number_of_queries(
    client, dispatcher, make_contract, customer, django_assert_max_num_queries
):
    today = timezone.localdate()
    around_today = {"start_on": today - dt.timedelta(days=5), "end_on": today + dt.timedelta(days=5)}
    first = SiteFactory(customer=customer)
    ProductFactory(customer=customer, site=first, warranty_end=None)
    make_contract(user=dispatcher, customer=customer, sites=[first], **around_today)
    _lookup(client, dispatcher, customer.name)
    with django_assert_max_num_queries(20) as one:
        _lookup(client, dispatcher, customer.name)
    for _ in range(5):
        site = SiteFactory(customer=customer)
        ProductFactory(customer=customer, site=site, warranty_end=None)
        make_contract(user=dispatcher, customer=customer, sites=[site], **around_today)
    with django_assert_max_num_queries(len(one.captured_queries)):
        assert _lookup(client, dispatcher, customer.name).count('data-cover="contract"') >= 10
