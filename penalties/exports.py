"""The exports of the penalties pages (registered in ``PenaltiesConfig.ready``; see ``servicedesk.exports``)."""

from django.http import Http404
from django.utils.translation import gettext_lazy as _

from servicedesk import exports
from servicedesk.exports import Column, ExportSpec, fields, value_paths
from servicedesk.models import values_in_language

from .forms import RulingFilterForm
from .models import PenaltyRuling
from .selectors import ruling_filtered
from .views.reports import ledger_for


def _ledger_columns(user):
    # The person/department header depends on the query string, so the rows carry it (see _ledger_rows).
    return [
        Column(_("Person or department"), "name"),
        Column(_("Unit"), "unit"),
        Column(_("Lines"), "lines", exports.INTEGER),
        Column(_("Share of the loss (yuan)"), "loss_share", exports.DECIMAL),
        Column(_("Deduction (yuan)"), "deduction", exports.DECIMAL),
    ]


def _ledger_rows(*, user, params):
    _form, rows, _month, _party = ledger_for(user=user, params=params)
    if rows is None:
        raise Http404
    return rows


def _ruling_columns(user):
    return fields(
        PenaltyRuling,
        "number",
        "unit__name",
        "case__number",
        "kind",
        "status",
        "case_date",
        "loss_amount",
        "total_deduction",
        "opened_at",
        "approved_at",
        labels={"unit__name": _("unit"), "case__number": _("complaint case")},
    )


def _ruling_rows(*, user, params):
    form = RulingFilterForm(params or None)
    filters = form.cleaned_data if form.is_valid() else {}
    return values_in_language(ruling_filtered(user=user, filters=filters), *value_paths(_ruling_columns(user)))


def register_exports() -> None:
    exports.register(
        ExportSpec(
            key="penalty-ledger",
            title=_("Penalty ledger"),
            permission="penalties.view_penalty_ledger",
            rows=_ledger_rows,
            columns=_ledger_columns,
            filename="penalties",
        )
    )
    exports.register(
        ExportSpec(
            key="penalty-rulings",
            title=_("Penalty rulings"),
            permission="penalties.view_penaltyruling",
            rows=_ruling_rows,
            columns=_ruling_columns,
            filename="penalty-rulings",
        )
    )
