"""The exports of the complaints pages (registered in ``ComplaintsConfig.ready``; see ``servicedesk.exports``)."""

from django.http import Http404
from django.utils.translation import gettext_lazy as _

from servicedesk import exports
from servicedesk.exports import Column, ExportSpec, fields, person, value_paths
from servicedesk.models import values_in_language

from . import appraisal
from .case_forms import CaseFilterForm
from .case_selectors import complaint_case_list
from .forms import OpinionFilterForm
from .models import ComplaintCase, CustomerOpinion, SurveyBatch
from .selectors import customer_opinion_list, survey_batch_list, units_visible
from .views.appraisal import appraisal_result
from .views.gm_office import case_report_for, report_rows

SHARES = ("in_time_share", "response_rate")


def _appraisal_columns(user):
    def value(attr):
        def get(row):
            figure = appraisal.export_value(row, attr)
            return "—" if figure is None else figure

        return get

    return [
        Column(
            label,
            value(attr),
            exports.TEXT if attr == "technician_name" else exports.PERCENT if attr in SHARES else exports.NUMBER,
        )
        for label, attr in appraisal.export_columns()
    ]


def _appraisal_rows(*, user, params):
    _form, result = appraisal_result(user=user, params=params, with_trend=False)
    if result is None:
        raise Http404
    return result["rows"]


def _case_report_columns(user):
    return [
        Column(_("Section"), lambda r: r[0]),
        Column(_("Item"), lambda r: r[1]),
        Column(_("Cases"), lambda r: r[2], exports.INTEGER),
        Column(_("Average days"), lambda r: r[3]),
    ]


def _case_report_rows(*, user, params):
    _form, report = case_report_for(user=user, params=params)
    return report_rows(report)[1:]


def _survey_columns(user):
    return [
        *fields(SurveyBatch, "day", "unit__name", labels={"unit__name": _("unit")}),
        Column(_("Cards"), "card_count", exports.INTEGER),
        Column(_("Answered"), "answered_count", exports.INTEGER),
    ]


def _survey_rows(*, user, params):
    return values_in_language(survey_batch_list(user=user), *value_paths(_survey_columns(user)))


def _opinion_columns(user):
    return [
        *fields(
            CustomerOpinion,
            "received_at",
            "unit__name",
            "customer__name",
            "call__number",
            "kind",
            "severity",
            "source",
            "text",
            "status",
            "outcome",
            "resolved_at",
            "letter_number",
            labels={"unit__name": _("unit"), "customer__name": _("customer"), "call__number": _("call number")},
        ),
        person("technician", _("technician")),
    ]


def _opinion_rows(*, user, params):
    form = OpinionFilterForm(params or None, units=units_visible(user=user) if user.sees_all_units else None)
    filters = form.cleaned_data if form.is_valid() else {}
    return values_in_language(customer_opinion_list(user=user, filters=filters), *value_paths(_opinion_columns(user)))


def _case_columns(user):
    return [
        *fields(
            ComplaintCase,
            "number",
            "unit__name",
            "customer__name",
            "call__number",
            "kind",
            "received_at",
            "status",
            "stage_due_at",
            "claimed_amount",
            "cause_category",
            "closed_at",
            labels={"unit__name": _("unit"), "customer__name": _("customer"), "call__number": _("call number")},
        ),
    ]


def _case_rows(*, user, params):
    form = CaseFilterForm(params or None, units=units_visible(user=user) if user.sees_all_units else None)
    filters = form.cleaned_data if form.is_valid() else {}
    return values_in_language(complaint_case_list(user=user, filters=filters), *value_paths(_case_columns(user)))


def register_exports() -> None:
    exports.register(
        ExportSpec(
            key="appraisal",
            title=_("Technicians' monthly appraisal"),
            permission="complaints.view_appraisal",
            rows=_appraisal_rows,
            columns=_appraisal_columns,
            filename="appraisal",
        )
    )
    exports.register(
        ExportSpec(
            key="complaint-case-reports",
            title=_("Complaint case reports"),
            permission="complaints.view_case_reports",
            rows=_case_report_rows,
            columns=_case_report_columns,
            filename="complaint-cases",
        )
    )
    exports.register(
        ExportSpec(
            key="survey-cards",
            title=_("Survey cards for mailing"),
            permission="complaints.view_surveycard",
            rows=_survey_rows,
            columns=_survey_columns,
            filename="survey-cards",
        )
    )
    exports.register(
        ExportSpec(
            key="opinions",
            title=_("Suggestions and complaints"),
            permission="complaints.view_customeropinion",
            rows=_opinion_rows,
            columns=_opinion_columns,
            filename="opinions",
        )
    )
    exports.register(
        ExportSpec(
            key="complaint-cases",
            title=_("Complaint cases"),
            permission="complaints.view_complaintcase",
            rows=_case_rows,
            columns=_case_columns,
            filename="complaint-cases",
        )
    )
