"""Every read of the portal, scoped to the signed-in contact's customer (deny by default).

Each function takes the ``CustomerPrincipal`` and filters on its customer first; an object of another
customer is simply not found (404), whichever unit it belongs to.
"""

import datetime as dt

from django.db.models import Prefetch
from django.http import Http404

from complaints.models import CustomerOpinion, SurveyCard
from contracts.models import Contract, ContractTerm, ExpiryNotice
from repairs.models import FeeCollection, Product, RepairCall, RepairCard, ServiceVoucher, Site, VoucherPart
from servicedesk.workflow import history_for

from .principal import CustomerPrincipal

LIST_LIMIT = 100
# A customer sees the vouchers a technician finished, not drafts being written.
VISIBLE_VOUCHERS = (ServiceVoucher.Status.SIGNED, ServiceVoucher.Status.SUPERSEDED)


def _get(queryset, pk: int):
    try:
        return queryset.get(pk=pk)
    except queryset.model.DoesNotExist:
        raise Http404 from None


def sites(*, principal: CustomerPrincipal) -> list[Site]:
    return list(Site.objects.filter(customer_id=principal.customer_id).select_related("zone").order_by("address"))


def products(*, principal: CustomerPrincipal) -> list[Product]:
    return list(
        Product.objects.filter(customer_id=principal.customer_id).select_related("site").order_by("model", "pk")
    )


def calls(*, principal: CustomerPrincipal) -> list[RepairCall]:
    return list(
        RepairCall.objects.filter(customer_id=principal.customer_id)
        .select_related("site", "product")
        .order_by("-received_at", "-pk")[:LIST_LIMIT]
    )


def call_get(*, principal: CustomerPrincipal, pk: int) -> RepairCall:
    return _get(
        RepairCall.objects.filter(customer_id=principal.customer_id).select_related("site", "product", "unit"), pk
    )


def call_history(*, call: RepairCall) -> list:
    """The call's states and when (who changed it and the staff's notes stay inside the desk)."""
    return list(history_for(call).order_by("at", "pk"))


def call_vouchers(*, call: RepairCall) -> list[ServiceVoucher]:
    return list(call.vouchers.filter(status__in=VISIBLE_VOUCHERS).order_by("pk"))


def call_fees(*, call: RepairCall) -> list[FeeCollection]:
    return list(
        FeeCollection.objects.filter(voucher__call=call, voucher__status__in=VISIBLE_VOUCHERS).order_by(
            "collected_at", "pk"
        )
    )


def call_card(*, call: RepairCall) -> RepairCard | None:
    """The carry-in repair card of the call, with its register entry (pickup receipt), if it was carried in."""
    return RepairCard.objects.filter(call=call).select_related("register_entry").first()


def voucher_get(*, principal: CustomerPrincipal, pk: int) -> ServiceVoucher:
    return _get(
        ServiceVoucher.objects.filter(call__customer_id=principal.customer_id, status__in=VISIBLE_VOUCHERS)
        .select_related(
            "unit", "call__customer", "call__site", "call__product", "technician", "corrects", "invoiced_by"
        )
        .prefetch_related(
            Prefetch("parts", queryset=VoucherPart.objects.order_by("id")),
            Prefetch("corrections", queryset=ServiceVoucher.objects.order_by("id")),
        ),
        pk,
    )


def fee_get(*, principal: CustomerPrincipal, pk: int) -> FeeCollection:
    return _get(
        FeeCollection.objects.filter(
            voucher__call__customer_id=principal.customer_id, voucher__status__in=VISIBLE_VOUCHERS
        ).select_related("voucher__call__customer", "voucher__call__product", "collected_on", "unit", "technician"),
        pk,
    )


def card_get(*, principal: CustomerPrincipal, pk: int) -> RepairCard:
    return _get(
        RepairCard.objects.filter(call__customer_id=principal.customer_id).select_related(
            "unit",
            "call__customer",
            "call__site",
            "call__product",
            "voucher",
            "technician",
            "register_entry__received_by",
            "register_entry__taken_by",
            "register_entry__released_by",
        ),
        pk,
    )


def contracts(*, principal: CustomerPrincipal) -> list[Contract]:
    return list(
        Contract.objects.filter(customer_id=principal.customer_id)
        .select_related("contract_type")
        .prefetch_related(
            Prefetch(
                "terms",
                queryset=ContractTerm.objects.select_related("expiry_notice").order_by("-sequence"),
            )
        )
        .order_by("number")[:LIST_LIMIT]
    )


def notice_get(*, principal: CustomerPrincipal, pk: int) -> ExpiryNotice:
    return _get(
        ExpiryNotice.objects.filter(term__contract__customer_id=principal.customer_id).select_related(
            "term__contract__customer", "term__contract__unit", "term__contract__contract_type"
        ),
        pk,
    )


def survey_cards_to_answer(*, principal: CustomerPrincipal, now: dt.datetime) -> list[SurveyCard]:
    """The customer's cards still waiting for an answer whose private link works (answered there)."""
    return list(
        SurveyCard.objects.filter(
            customer_id=principal.customer_id, status=SurveyCard.Status.ISSUED, link_expires_at__gt=now
        )
        .select_related("call")
        .order_by("survey_day", "pk")[:LIST_LIMIT]
    )


def opinions(*, principal: CustomerPrincipal) -> list[CustomerOpinion]:
    return list(
        CustomerOpinion.objects.filter(customer_id=principal.customer_id)
        .select_related("call")
        .order_by("-received_at", "-pk")[:LIST_LIMIT]
    )
