"""The contract page reads a fixed number of queries, at most 8, however many products, sites, renewals (issue 17)."""

import datetime as dt
from decimal import Decimal

from contracts.services import contract_planned_visits_generate, contract_term_renew
from tests.factories import CustomerFactory, ProductFactory, SiteFactory
from tests.page_queries import page_queries

BUDGET = 8
TODAY = dt.date.today()
DAY = dt.timedelta(days=1)


def test_the_contract_page_costs_the_same_with_one_term_and_with_three_renewals(client, dispatcher, make_contract):
    client.force_login(dispatcher)
    small = make_contract(user=dispatcher, start_on=TODAY - 10 * DAY, end_on=TODAY + 200 * DAY)
    few, _page = page_queries(client, small.get_absolute_url())

    customer = CustomerFactory(unit=dispatcher.unit)
    products = [ProductFactory(customer=customer, warranty_end=None) for _ in range(5)]
    sites = [SiteFactory(customer=customer) for _ in range(3)]
    big = make_contract(
        user=dispatcher,
        customer=customer,
        product=products[0],
        sites=sites,
        start_on=TODAY - 700 * DAY,
        end_on=TODAY - 400 * DAY,
    )
    big.covered_products.model.objects.bulk_create(
        [big.covered_products.model(contract=big, product=product) for product in products[1:]]
    )
    for end in (TODAY - 100 * DAY, TODAY + 250 * DAY):
        latest = big.terms.order_by("-sequence").first()
        contract_term_renew(
            user=dispatcher, term_id=latest.pk, end_on=end, fee=Decimal("900"), visit_frequency="monthly"
        )
    contract_planned_visits_generate(today=TODAY)
    assert big.terms.count() == 3
    many, page = page_queries(client, big.get_absolute_url())
    assert few == many <= BUDGET, (few, many)
    for product in products:
        assert product.serial_number in page
    for site in sites:
        assert site.address in page
