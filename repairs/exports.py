"""The exports of the repairs pages (registered in ``RepairsConfig.ready``; see ``servicedesk.exports``).

``call_columns`` and ``call_rows`` are the calls' columns for any list of calls (the board here; the calls
list registers its own spec with them).
"""

from django.http import Http404
from django.utils.translation import gettext_lazy as _

from servicedesk import exports
from servicedesk.exports import Column, ExportSpec, fields, person, value_paths
from servicedesk.models import values_in_language

from .forms import BoardFilterForm
from .models import FeeCollection, RepairCall, RepairCard, ServiceVoucher
from .models_quotes import RepairCardFee
from .selectors import repair_call_board_all, technicians_visible
from .selectors_field import card_fees_of_day, card_list, fee_reconciliation_fees, vouchers_of_day
from .views.carry_in import register_rows
from .views.fees import reconciliation_filters


def call_columns(user) -> list[Column]:
    unit = fields(RepairCall, "unit__name", labels={"unit__name": _("unit")}) if user.sees_all_units else []
    return [
        *fields(RepairCall, "number"),
        *unit,
        *fields(
            RepairCall,
            "status",
            "received_at",
            "attend_by",
            "arrived_at",
            "resolved_at",
            "customer__name",
            "contact_name",
            "contact_phone",
            "site__address",
            "zone__name",
            "product__serial_number",
            "coverage",
            "channel",
            "problem",
            labels={"customer__name": _("customer"), "zone__name": _("zone"), "product__serial_number": _("serial")},
        ),
        person("technician", _("technician")),
    ]


def call_rows(queryset, *, user):
    """The calls of ``queryset`` as flat rows for ``call_columns`` (one streamed query, no model instances)."""
    return values_in_language(queryset, *value_paths(call_columns(user)))


def _board_rows(*, user, params):
    form = BoardFilterForm(params or None, user=user, technicians=technicians_visible(user=user, unit_id=None))
    filters = form.cleaned_data if form.is_valid() else {}
    return call_rows(repair_call_board_all(user=user, filters=filters), user=user)


def _register_columns(user):
    return [
        Column(_("Pickup receipt"), "receipt_number"),
        Column(_("Unit"), "unit.name"),
        Column(_("Call"), "call.number"),
        Column(_("Customer"), "call.customer.name"),
        Column(_("Product"), "item_description"),
        Column(_("Taken from the customer"), "taken_at", exports.DATETIME),
        Column(_("Days in our hands"), "age_days", exports.INTEGER),
        Column(_("Booked in"), "received_at", exports.DATETIME),
        Column(_("Received by"), lambda e: str(e.received_by) if e.received_by else ""),
        Column(_("Stored at"), "storage_location"),
        Column(_("Repair card"), "card.number"),
        Column(_("Card status"), "card.status", exports.CHOICE, RepairCard.Status),
    ]


def _register_rows(*, user, params):
    return register_rows(user=user, params=params)[1]


def _card_columns(user):
    return [
        *fields(RepairCard, "number"),
        *([Column(_("Unit"), "unit.name")] if user.sees_all_units else []),
        Column(_("Call"), "call.number"),
        Column(_("Customer"), "call.customer.name"),
        Column(_("Pickup receipt"), "register_entry.receipt_number"),
        Column(_("technician"), lambda c: str(c.technician) if c.technician else ""),
        *fields(RepairCard, "status", "promised_at", "repaired_at", "fault_found"),
    ]


def _card_rows(*, user, params):
    return card_list(user=user, open_only=params.get("all") != "1")


def _reconciliation(*, user, params):
    _form, unit, day = reconciliation_filters(user=user, params=params)
    if unit is None:
        raise Http404
    return unit, day


def _fee_columns(user):
    return [
        *fields(
            FeeCollection,
            "receipt_number",
            "unit__name",
            "voucher__number",
            "voucher__call__number",
            labels={"unit__name": _("unit"), "voucher__call__number": _("call number")},
        ),
        *fields(
            FeeCollection, "voucher__call__customer__name", labels={"voucher__call__customer__name": _("Customer")}
        ),
        person("technician", _("technician")),
        *fields(FeeCollection, "amount", "collected_at", "status", "handed_over_at"),
        person("received_by", _("received by")),
    ]


def _fee_rows(*, user, params):
    unit, day = _reconciliation(user=user, params=params)
    return values_in_language(fee_reconciliation_fees(user=user, unit=unit, day=day), *value_paths(_fee_columns(user)))


def _card_fee_columns(user):
    return [
        *fields(
            RepairCardFee,
            "receipt_number",
            "unit__name",
            "card__number",
            "card__call__number",
            labels={"unit__name": _("unit"), "card__call__number": _("call number")},
        ),
        *fields(RepairCardFee, "card__call__customer__name", labels={"card__call__customer__name": _("Customer")}),
        person("collected_by", _("collected by")),
        *fields(RepairCardFee, "amount", "collected_at"),
    ]


def _card_fee_rows(*, user, params):
    unit, day = _reconciliation(user=user, params=params)
    return values_in_language(card_fees_of_day(user=user, unit=unit, day=day), *value_paths(_card_fee_columns(user)))


def _voucher_columns(user):
    return [
        *fields(ServiceVoucher, "number", "unit__name", "call__number", labels={"unit__name": _("unit")}),
        *fields(ServiceVoucher, "call__customer__name", labels={"call__customer__name": _("Customer")}),
        person("technician", _("technician")),
        *fields(
            ServiceVoucher,
            "arrived_at",
            "departed_at",
            "work_done",
            "cover",
            "settlement",
            "status",
            "labour_charge",
            "total_due",
            "signed_by_name",
            "signed_at",
            "invoice_number",
        ),
    ]


def _voucher_rows(*, user, params):
    unit, day = _reconciliation(user=user, params=params)
    return values_in_language(vouchers_of_day(user=user, unit=unit, day=day), *value_paths(_voucher_columns(user)))


def register_exports() -> None:
    exports.register(
        ExportSpec(
            key="board",
            title=_("Dispatch board"),
            permission="repairs.view_repaircall",
            rows=_board_rows,
            columns=call_columns,
            filename="board",
        )
    )
    exports.register(
        ExportSpec(
            key="register",
            title=_("Carry-in register"),
            permission="repairs.view_registerentry",
            rows=_register_rows,
            columns=_register_columns,
            filename="register",
        )
    )
    exports.register(
        ExportSpec(
            key="repair-cards",
            title=_("Repair cards"),
            permission="repairs.view_repaircard",
            rows=_card_rows,
            columns=_card_columns,
            filename="repair-cards",
        )
    )
    exports.register(
        ExportSpec(
            key="fees",
            title=_("Fee reconciliation"),
            permission="repairs.view_feecollection",
            rows=_fee_rows,
            columns=_fee_columns,
            filename="fees",
        )
    )
    exports.register(
        ExportSpec(
            key="card-fees",
            title=_("Repair fees collected at hand-back"),
            permission="repairs.view_feecollection",
            rows=_card_fee_rows,
            columns=_card_fee_columns,
            filename="hand-back-fees",
        )
    )
    exports.register(
        ExportSpec(
            key="vouchers",
            title=_("Service vouchers"),
            permission="repairs.view_feecollection",
            extra_permissions=("repairs.view_servicevoucher",),
            rows=_voucher_rows,
            columns=_voucher_columns,
            filename="vouchers",
        )
    )
