"""Complaint cases: inbox, list, the handling form, stage by stage, and its attachments (DOMAIN section 7)."""

from django.contrib import messages
from django.contrib.auth.decorators import permission_required
from django.core.paginator import Paginator
from django.http import FileResponse, Http404
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from repairs.models import Customer, RepairCall
from servicedesk.documents import pdf_response
from servicedesk.exceptions import ApplicationError
from servicedesk.form_html import form_html
from servicedesk.scoping import scope_to_user
from servicedesk.workflow import history_for

from .. import case_selectors, selectors, services
from ..case_forms import (
    ActionConfirmForm,
    ActionExecuteForm,
    ActionFollowUpForm,
    ActionProposeForm,
    AttachmentForm,
    CaseFilterForm,
    CaseOpenForm,
    CostForm,
    FollowUpForm,
    ReturnCheckForm,
    ReturnForm,
    ReturnPostForm,
    ReturnResolveForm,
    StageForm,
)
from ..case_page_cache import CasePageReads
from ..documents import complaint_case_pdf
from ..models import ComplaintCase, ImprovementAction, ReturnAllowance
from ..services.attachments import attachment_path
from ..services.opinions import follow_up_refusal, may_record_follow_up
from ..stages import stage_progress, user_owns_stage

CASES_PER_PAGE = 50
INBOX_LIMIT = 200


def apply_error(form, exc: ApplicationError) -> None:
    form.add_error(exc.field if exc.field in form.fields else None, exc.message)


@require_GET
@permission_required("complaints.view_complaintcase", raise_exception=True)
def case_inbox(request):
    """The cases whose current stage is this user's to complete, the most urgent first."""
    user = request.user
    cases = list(case_selectors.complaint_case_inbox(user=user)[:INBOX_LIMIT])
    return render(
        request,
        "complaints/case_inbox.html",
        {
            "cases": cases,
            "limit": INBOX_LIMIT,
            "now": timezone.now(),
            "my_actions": list(case_selectors.my_actions(user=user)[:50]),
        },
    )


@require_GET
@permission_required("complaints.view_complaintcase", raise_exception=True)
def case_list(request):
    user = request.user
    form = CaseFilterForm(
        request.GET or None, units=selectors.units_visible(user=user) if user.sees_all_units else None
    )
    filters = form.cleaned_data if form.is_valid() else {}
    paginator = Paginator(case_selectors.complaint_case_list(user=user, filters=filters), CASES_PER_PAGE)
    page = paginator.get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "complaints/case_list.html",
        {"form": form, "page": page, "query": query.urlencode(), "now": timezone.now()},
    )


@require_http_methods(["GET", "POST"])
@permission_required("complaints.open_case", raise_exception=True)
def case_open(request):
    """Open a case: from a complaint (?opinion=) or from scratch with its customer."""
    user = request.user
    opinion = None
    if request.GET.get("opinion") or request.POST.get("opinion"):
        try:
            opinion_id = int(request.GET.get("opinion") or request.POST.get("opinion"))
        except ValueError:
            raise Http404 from None
        opinion = case_selectors.opinion_detail(user=user, pk=opinion_id)
    form = CaseOpenForm(
        request.POST or None,
        units=selectors.units_visible(user=user),
        customers=scope_to_user(Customer.objects.all(), user=user).order_by("name"),
        calls=scope_to_user(RepairCall.objects.select_related("technician"), user=user),
        opinion=opinion,
    )
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            if opinion is not None:
                case = services.complaint_case_open(
                    user=user,
                    unit=opinion.unit,
                    customer=opinion.customer,
                    opinion=opinion,
                    received_at=opinion.received_at,
                    kind=data["kind"],
                    product_description=data["product_description"],
                    description=data["description"],
                    customer_request=data["customer_request"],
                    claimed_amount=data["claimed_amount"],
                )
            else:
                case = services.complaint_case_open(
                    user=user,
                    unit=data["unit"],
                    customer=data["customer"],
                    call=data["call"],
                    technician=data["call"].technician if data["call"] else None,
                    kind=data["kind"],
                    severity=data["severity"],
                    source=data["source"],
                    received_at=data["received_at"],
                    product_description=data["product_description"],
                    description=data["description"],
                    customer_request=data["customer_request"],
                    claimed_amount=data["claimed_amount"],
                )
        except ApplicationError as exc:
            apply_error(form, exc)
        else:
            messages.success(request, _("Case %(number)s opened.") % {"number": case.number})
            return redirect(case)
    return render(request, "complaints/case_open.html", {"form": form, "opinion": opinion})


def _stage_forms(*, user, case, rules) -> dict:
    if case.status == ComplaintCase.Status.AUDITED or not user.has_perm("complaints.work_case"):
        return {}
    if not user_owns_stage(user=user, case=case, rules=rules):
        return {}
    return {to: StageForm(case=case, to_status=to) for to in ComplaintCase.TRANSITIONS[case.status]}


def _new_forms_html(*, case, kept: CasePageReads) -> dict:
    """The unbound forms for the case's new records, drawn: {kind: markup}. The same for every case of the same
    unit and responsible department (in one language) until the people of their pickers change, so kept: none of
    them has an initial value that moves with the clock (the follow-up form's time is drawn on each request)."""

    def draw():
        people = kept.people(case=case)  # both people pickers, read once
        forms = {
            "attachment": AttachmentForm(),
            "return": ReturnForm(case=case, people=people),
            "cost": CostForm(),
            "action": ActionProposeForm(case=case, people=people),
        }
        return {kind: form_html(form) for kind, form in forms.items()}

    return kept.new_forms_html(case=case, draw=draw)


def _record_forms(*, user, case, returns, actions) -> dict:
    """The forms for the case's existing records the user may use: {(kind, pk): form}."""
    forms = {}
    for item in returns:
        if item.status in (ReturnAllowance.Status.RECORDED, ReturnAllowance.Status.MISMATCH) and user.has_perm(
            "complaints.check_returns"
        ):
            forms[("return_check", item.pk)] = ReturnCheckForm()
        if item.status == ReturnAllowance.Status.MISMATCH and user.has_perm("complaints.work_case"):
            forms[("return_resolve", item.pk)] = ReturnResolveForm(
                initial={"slip_quantity": item.slip_quantity, "slip_amount": item.slip_amount}
            )
        if item.status == ReturnAllowance.Status.CHECKED and user.has_perm("complaints.post_returns"):
            forms[("return_post", item.pk)] = ReturnPostForm()
    for action in actions:
        if action.status == ImprovementAction.Status.PROPOSED and action.owner_id == user.pk:
            forms[("action_execute", action.pk)] = ActionExecuteForm()
        if action.status != ImprovementAction.Status.CONFIRMED and (
            user.has_perm("complaints.audit_case") or user.has_perm("complaints.work_case")
        ):
            forms[("action_follow_up", action.pk)] = ActionFollowUpForm()
            if action.status == ImprovementAction.Status.EXECUTED and action.owner_id != user.pk:
                forms[("action_confirm", action.pk)] = ActionConfirmForm()
    return forms


def _follow_up_owed(*, user, case, follow_ups, kept: CasePageReads, bound=None) -> dict:
    """Clause 二十八 on the case page: why closing would be refused for the supervisor's follow-up, and the
    follow-up form right there when the user is the one who records it (else the page links to the complaint)."""
    if case.opinion_id is None or case.status in (ComplaintCase.Status.CLOSED, ComplaintCase.Status.AUDITED):
        return {}
    refusal = follow_up_refusal(opinion=case.opinion, follow_ups=follow_ups, methods_that_count=kept.methods_that_count)
    if not refusal and bound is None:
        return {}
    form = bound or (FollowUpForm() if may_record_follow_up(user=user, opinion=case.opinion) else None)
    return {"refusal": refusal, "form": form}


def case_detail_response(request, case, *, stage_bound=None, record_bound=None, follow_up_bound=None, status=200):
    user = request.user
    kept = CasePageReads()
    returns = case_selectors.case_returns(case=case, people=False)
    actions = case_selectors.case_actions(case=case, people=False)
    history = list(history_for(case).select_related(None))
    kept.name_related(
        ([case], case_selectors.CASE_NAMED),
        (returns, case_selectors.RETURN_PEOPLE),
        (actions, case_selectors.ACTION_PEOPLE),
        (history, ("by",)),
    )
    rules = kept.rules()
    now = timezone.now()
    stage_forms = _stage_forms(user=user, case=case, rules=rules)
    stage_forms.update(stage_bound or {})
    record_forms = _record_forms(user=user, case=case, returns=returns, actions=actions)
    new_forms = {}  # {kind: (the bound form sent back, or None; its markup)}
    if user.has_perm("complaints.work_case") and case.status != ComplaintCase.Status.AUDITED:
        new_forms = {kind: (None, markup) for kind, markup in _new_forms_html(case=case, kept=kept).items()}
    for (kind, pk), form in (record_bound or {}).items():
        if pk is None:
            new_forms[kind] = (form, form_html(form))
        else:
            record_forms[(kind, pk)] = form
    # Each row carries its own forms, so the template needs no lookups.
    for item in returns:
        item.check_form = record_forms.get(("return_check", item.pk))
        item.resolve_form = record_forms.get(("return_resolve", item.pk))
        item.post_form = record_forms.get(("return_post", item.pk))
    for action in actions:
        action.execute_form = record_forms.get(("action_execute", action.pk))
        action.follow_up_form = record_forms.get(("action_follow_up", action.pk))
        action.confirm_form = record_forms.get(("action_confirm", action.pk))
    costs = kept.costs(case=case)
    follow_ups = list(case.opinion.follow_ups.select_related("supervisor")) if case.opinion_id else []
    return render(
        request,
        "complaints/case_detail.html",
        {
            "case": case,
            "now": now,
            "history": history,
            "progress": stage_progress(case=case, history=history, rules=rules, now=now),
            "attachments": kept.attachments(case=case),
            "returns": returns,
            "costs": costs,
            "actions": actions,
            "slips": kept.slips(case=case),
            "stage_forms": stage_forms,
            "new_forms": new_forms,
            "loss": case.loss_amount(returns=returns, costs=costs),
            "follow_ups": follow_ups,
            "follow_up_owed": _follow_up_owed(
                user=user, case=case, follow_ups=follow_ups, kept=kept, bound=follow_up_bound
            ),
        },
        status=status,
    )


@require_GET
@permission_required("complaints.view_complaintcase", raise_exception=True)
def case_detail(request, pk: int):
    case = case_selectors.complaint_case_get_for_user(user=request.user, pk=pk, named=False)
    return case_detail_response(request, case)


@require_POST
@permission_required("complaints.work_case", raise_exception=True)
def case_transition(request, pk: int, to_status: str):
    case = case_selectors.complaint_case_get_for_user(user=request.user, pk=pk)
    if to_status not in ComplaintCase.TRANSITIONS.get(case.status, ()):
        messages.error(request, _("The case has moved on; nothing was changed."))
        return redirect(case)
    form = StageForm(request.POST, case=case, to_status=to_status)
    if form.is_valid():
        try:
            services.complaint_case_transition(
                user=request.user, case_id=case.pk, to_status=to_status, data=form.stage_input()
            )
        except ApplicationError as exc:
            apply_error(form, exc)
        else:
            messages.success(
                request,
                _("Case %(number)s moved to “%(stage)s”.")
                % {"number": case.number, "stage": ComplaintCase.Status(to_status).label},
            )
            return redirect(case)
    return case_detail_response(request, case, stage_bound={to_status: form}, status=400)


@require_POST
@permission_required("complaints.record_follow_up", raise_exception=True)
def case_follow_up(request, pk: int):
    """The supervisor's personal follow-up recorded from the case page, where closing asks for it."""
    case = case_selectors.complaint_case_get_for_user(user=request.user, pk=pk)
    if case.opinion_id is None:
        raise Http404
    form = FollowUpForm(request.POST)
    if form.is_valid():
        try:
            services.opinion_follow_up_record(
                user=request.user,
                opinion_id=case.opinion_id,
                followed_up_at=form.cleaned_data["followed_up_at"],
                method=form.cleaned_data["method"],
                summary=form.cleaned_data["summary"],
            )
        except ApplicationError as exc:
            apply_error(form, exc)
        else:
            messages.success(request, _("Follow-up recorded."))
            return redirect(case)
    return case_detail_response(request, case, follow_up_bound=form, status=400)


@require_GET
@permission_required("complaints.view_complaintcase", raise_exception=True)
def case_pdf(request, pk: int):
    case = case_selectors.complaint_case_get_for_user(user=request.user, pk=pk)
    pdf = complaint_case_pdf(
        case=case,
        history=list(history_for(case)),
        returns=case_selectors.case_returns(case=case),
        actions=case_selectors.case_actions(case=case),
        attachments=case_selectors.case_attachments(case=case),
    )
    return pdf_response(pdf, filename=f"complaint-{case.number}")


@require_POST
@permission_required("complaints.work_case", raise_exception=True)
def attachment_upload(request, pk: int):
    case = case_selectors.complaint_case_get_for_user(user=request.user, pk=pk)
    form = AttachmentForm(request.POST, request.FILES)
    if form.is_valid():
        try:
            services.case_attachment_add(
                user=request.user,
                case_id=case.pk,
                upload=form.cleaned_data["file"],
                description=form.cleaned_data["description"],
            )
        except ApplicationError as exc:
            apply_error(form, exc)
        else:
            messages.success(request, _("Attached."))
            return redirect(case)
    return case_detail_response(request, case, record_bound={("attachment", None): form}, status=400)


@require_GET
@permission_required("complaints.view_complaintcase", raise_exception=True)
def attachment_download(request, pk: int):
    """Only through here, only for those who may see the case; never rendered inline as HTML."""
    attachment = case_selectors.attachment_get_for_user(user=request.user, pk=pk)
    path = attachment_path(attachment)
    if not path.is_file():
        raise Http404
    response = FileResponse(
        open(path, "rb"),
        as_attachment=True,
        filename=attachment.original_name,
        content_type=attachment.content_type,
    )
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "private, no-store"
    return response
