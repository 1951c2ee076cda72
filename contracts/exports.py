"""The exports of the contract pages (registered in ``ContractsConfig.ready``; see ``servicedesk.exports``)."""

from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from servicedesk import exports
from servicedesk.exports import ExportSpec, fields, person, value_paths
from servicedesk.models import values_in_language

from .forms import ContractFilterForm, FollowUpFilterForm
from .models import ContractTerm, RenewalFollowUp
from .selectors import contract_term_filtered, follow_ups_list


def _term_columns(user):
    return [
        *fields(
            ContractTerm,
            "contract__number",
            "contract__unit__name",
            "contract__customer__name",
            "contract__contract_type__name",
            "sequence",
            "start_on",
            "end_on",
            "fee",
            "visit_frequency",
            "status",
            "notice_on",
            labels={
                "contract__unit__name": _("unit"),
                "contract__customer__name": _("customer"),
                "contract__contract_type__name": _("contract type"),
            },
        ),
    ]


def _term_rows(*, user, params):
    form = ContractFilterForm(params or None, user=user)
    filters = form.cleaned_data if form.is_valid() else {}
    qs = contract_term_filtered(user=user, filters=filters, today=timezone.localdate())
    return values_in_language(qs, *value_paths(_term_columns(user)))


def _follow_up_columns(user):
    return [
        *fields(
            RenewalFollowUp,
            "notice__number",
            "notice__issued_on",
            "unit__name",
            "term__contract__number",
            "term__contract__customer__name",
            "term__end_on",
            labels={
                "notice__number": _("expiry notice"),
                "unit__name": _("unit"),
                "term__contract__number": _("contract"),
                "term__contract__customer__name": _("customer"),
            },
        ),
        person("assigned_to", _("assigned to")),
        *fields(RenewalFollowUp, "due_on", "status", "note", "closed_at"),
    ]


def _follow_up_rows(*, user, params):
    form = FollowUpFilterForm(params or None, user=user)
    filters = form.cleaned_data if form.is_valid() else {}
    paths = value_paths(_follow_up_columns(user))
    return [
        {p: exports.resolve(f, p) for p in paths}
        for f in follow_ups_list(user=user, filters=filters, today=timezone.localdate(), limit=10_000)
    ]


def register_exports() -> None:
    exports.register(
        ExportSpec(
            key="contracts",
            title=_("Maintenance contracts"),
            permission="contracts.view_contract",
            rows=_term_rows,
            columns=_term_columns,
            filename="contracts",
        )
    )
    exports.register(
        ExportSpec(
            key="expiry-notices",
            title=_("Expiry notices and renewal follow-ups"),
            permission="contracts.view_contract",
            rows=_follow_up_rows,
            columns=_follow_up_columns,
            filename="expiry-notices",
        )
    )
