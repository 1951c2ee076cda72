"""Paid or free (DOMAIN 2): decided from the warranty and the maintenance-contract cover on the visit date.

Service is paid when the product is out of warranty and not under a maintenance
contract, or was damaged by misuse; otherwise it is free. Contract cover comes
from ``contracts.selectors.contract_covering`` when the contracts app provides
it; without it, the product's warranty end date alone decides.
"""

import datetime as dt
from dataclasses import dataclass

from ..models import Product, RepairCall, ServiceVoucher, Site

# The contracts app owns contract cover; repairs only asks it. ``contract_covering(*, product, site, on)``
# returns the covering term or None; contracts' AppConfig.ready registers it.
contract_covering = None


def register_contract_cover(lookup) -> None:
    global contract_covering  # set once, when the higher app loads
    contract_covering = lookup


def contract_covers(*, product: Product | None, site: Site | None, on: dt.date) -> bool:
    """DOMAIN 4: is the product or site under a maintenance contract on that day?"""
    if contract_covering is None or (product is None and site is None):
        return False
    return contract_covering(product=product, site=site, on=on) is not None


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
