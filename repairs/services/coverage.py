"""Paid or free (DOMAIN 2): decided from the warranty and the maintenance-contract cover on the visit date.

Service is paid when the product is out of warranty and not under a maintenance
contract, or was damaged by misuse; otherwise it is free. Contract cover comes
from ``contracts.selectors.contract_covering`` when the contracts app provides
it; without it, the product's warranty end date alone decides.
"""

import datetime as dt
from dataclasses import dataclass

from django.db.models import Case, CharField, Value, When

from ..models import Product, RepairCall, ServiceVoucher, Site

# The contracts app owns contract cover; repairs only asks it. ``contract_covering(*, product, site, on)``
# returns the covering term or None; ``contract_cover_of(*, product_ids, site_ids, on)`` answers for a list at
# once: (the product ids, the site ids) a contract names and covers that day. contracts' AppConfig.ready
# registers both.
contract_covering = None
# The same cover as a condition the database evaluates, ``contract_cover_condition(*, product, site, on)``
# (an ``Exists``, or None when there is nothing to look for): a new call's cover is decided in the INSERT.
contract_cover_condition = None
contract_cover_of = None


def register_contract_cover(lookup, *, condition=None, covered_ids=None) -> None:
    global contract_covering, contract_cover_condition, contract_cover_of  # set once, when the higher app loads
    contract_covering = lookup
    contract_cover_condition = condition
    contract_cover_of = covered_ids


def mark_cover(*, customers, on: dt.date) -> None:
    """The call-logging look-up (issue 16): each listed product's and site's cover on ``on``, as
    ``product.cover_hint`` ("warranty", "contract" or "") and ``site.cover_hint`` ("contract" or ""), so choosing
    one sets the form's cover; the service decides again when the call is saved. Two queries for the whole list."""
    sites = [site for customer in customers for site in customer.sites.all()]
    products = [product for customer in customers for product in customer.products.all()]
    covered_products: set = set()
    covered_sites: set = set()
    if contract_cover_of is not None and (sites or products):
        site_ids = {site.pk for site in sites} | {p.site_id for p in products if p.site_id}
        covered_products, covered_sites = contract_cover_of(
            product_ids={p.pk for p in products}, site_ids=site_ids, on=on
        )
    for site in sites:
        site.cover_hint = RepairCall.Coverage.CONTRACT if site.pk in covered_sites else ""
    for product in products:
        if product.in_warranty_on(on):
            product.cover_hint = RepairCall.Coverage.WARRANTY
        elif product.pk in covered_products or product.site_id in covered_sites:
            product.cover_hint = RepairCall.Coverage.CONTRACT
        else:
            product.cover_hint = ""


def contract_covers(*, product: Product | None, site: Site | None, on: dt.date) -> bool:
    """DOMAIN 4: is the product or site under a maintenance contract on that day?"""
    if contract_covering is None or (product is None and site is None):
        return False
    return contract_covering(product=product, site=site, on=on) is not None


def call_cover_when_written(*, product: Product | None, site: Site | None, on: dt.date):
    """DOMAIN 4 for a call of unknown cover: "contract" when a maintenance contract covers it on ``on``, else
    "unknown". With the contracts app's condition registered, an expression the INSERT of the call evaluates
    (the saved call holds the answer, read back by the same statement); else the answer looked up now."""
    if contract_cover_condition is None or contract_covering is None:
        covered = contract_covers(product=product, site=site, on=on)
        return RepairCall.Coverage.CONTRACT if covered else RepairCall.Coverage.UNKNOWN
    condition = contract_cover_condition(product=product, site=site, on=on)
    if condition is None:
        return RepairCall.Coverage.UNKNOWN
    return Case(
        When(condition, then=Value(RepairCall.Coverage.CONTRACT.value)),
        default=Value(RepairCall.Coverage.UNKNOWN.value),
        output_field=CharField(),
    )


@dataclass(frozen=True)
class CoverDecision:
    cover: str  # a ServiceVoucher.Cover value
    contract_reference: str = ""

    @property
    def is_paid(self) -> bool:
        return self.cover in ServiceVoucher.PAID_COVERS


def _contract_reference(contract) -> str:
    # contracts returns the covering term; its contract carries the number.
    contract = getattr(contract, "contract", None) or contract
    for attribute in ("number", "reference", "code"):
        value = getattr(contract, attribute, "")
        if value:
            return str(value)
    return str(contract)


def service_is_paid(
    *, product: Product | None, site: Site | None, on: dt.date, misuse: bool = False, call: RepairCall | None = None
) -> CoverDecision:
    """Clause 九/十: misuse is always paid; warranty, then contract cover, make it free.

    A call without a recorded product falls back on the cover the dispatcher
    recorded when logging it (the warranty cannot be checked without a product).
    """
    if misuse:
        return CoverDecision(ServiceVoucher.Cover.MISUSE)
    if product is not None and product.in_warranty_on(on):
        return CoverDecision(ServiceVoucher.Cover.WARRANTY)
    if contract_covering is not None and (product is not None or site is not None):
        contract = contract_covering(product=product, site=site, on=on)
        if contract is not None:
            return CoverDecision(ServiceVoucher.Cover.CONTRACT, _contract_reference(contract))
    if product is None and call is not None:
        if call.coverage == RepairCall.Coverage.WARRANTY:
            return CoverDecision(ServiceVoucher.Cover.WARRANTY)
        if call.coverage == RepairCall.Coverage.CONTRACT and contract_covering is None:
            return CoverDecision(ServiceVoucher.Cover.CONTRACT)
    return CoverDecision(ServiceVoucher.Cover.OUT_OF_COVER)
