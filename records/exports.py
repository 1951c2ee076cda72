"""The call history's export (registered in ``RecordsConfig.ready``; see ``servicedesk.exports``)."""

from django.utils.translation import gettext_lazy as _

from repairs.exports import call_columns, call_rows
from servicedesk import exports
from servicedesk.exports import ExportSpec

from . import selectors
from .forms import CallFilterForm


def _history_rows(*, user, params):
    form = CallFilterForm(params or None, user=user)
    filters = form.cleaned_data if form.is_valid() else {}
    return call_rows(selectors.call_history_all(user=user, filters=filters), user=user)


def register_exports() -> None:
    exports.register(
        ExportSpec(
            key="calls",
            title=_("Call history"),
            permission="repairs.view_repaircall",
            rows=_history_rows,
            columns=call_columns,
            filename="calls",
        )
    )
