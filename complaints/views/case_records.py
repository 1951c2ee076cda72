"""A case's records beside the stages: returns and allowances, other costs, improvement actions."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.shortcuts import redirect
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from servicedesk.exceptions import ApplicationError

from .. import case_selectors, services
from ..case_forms import (
    ActionConfirmForm,
    ActionExecuteForm,
    ActionFollowUpForm,
    ActionProposeForm,
    CostForm,
    ReturnCheckForm,
    ReturnForm,
    ReturnPostForm,
    ReturnResolveForm,
)
from .cases import apply_error, case_detail_response


def _finish(request, case, form, key, call):
    if form.is_valid():
        try:
            call(form.cleaned_data)
        except ApplicationError as exc:
            apply_error(form, exc)
        else:
            messages.success(request, _("Saved."))
            return redirect(case)
    return case_detail_response(request, case, record_bound={key: form}, status=400)


def _need(request, perm):
    if not request.user.has_perm(perm):
        raise PermissionDenied


@require_POST
@login_required
def return_add(request, pk: int):
    _need(request, "complaints.work_case")
    case = case_selectors.complaint_case_get_for_user(user=request.user, pk=pk)
    form = ReturnForm(request.POST, case=case)
    return _finish(
        request,
        case,
        form,
        ("return", None),
        lambda d: services.return_allowance_record(user=request.user, case_id=case.pk, **d),
    )


@require_POST
@login_required
def return_check(request, pk: int):
    _need(request, "complaints.check_returns")
    item = case_selectors.return_get_for_user(user=request.user, pk=pk)
    return _finish(
        request,
        item.case,
        ReturnCheckForm(request.POST),
        ("return_check", item.pk),
        lambda d: services.return_allowance_check(user=request.user, return_id=item.pk, **d),
    )


@require_POST
@login_required
def return_resolve(request, pk: int):
    _need(request, "complaints.work_case")
    item = case_selectors.return_get_for_user(user=request.user, pk=pk)
    return _finish(
        request,
        item.case,
        ReturnResolveForm(request.POST),
        ("return_resolve", item.pk),
        lambda d: services.return_allowance_resolve(user=request.user, return_id=item.pk, **d),
    )


@require_POST
@login_required
def return_post(request, pk: int):
    _need(request, "complaints.post_returns")
    item = case_selectors.return_get_for_user(user=request.user, pk=pk)
    return _finish(
        request,
        item.case,
        ReturnPostForm(request.POST),
        ("return_post", item.pk),
        lambda d: services.return_allowance_post(user=request.user, return_id=item.pk, **d),
    )


@require_POST
@login_required
def cost_add(request, pk: int):
    _need(request, "complaints.work_case")
    case = case_selectors.complaint_case_get_for_user(user=request.user, pk=pk)
    return _finish(
        request,
        case,
        CostForm(request.POST),
        ("cost", None),
        lambda d: services.case_cost_record(user=request.user, case_id=case.pk, **d),
    )


@require_POST
@login_required
def action_add(request, pk: int):
    _need(request, "complaints.work_case")
    case = case_selectors.complaint_case_get_for_user(user=request.user, pk=pk)
    return _finish(
        request,
        case,
        ActionProposeForm(request.POST, case=case),
        ("action", None),
        lambda d: services.improvement_action_propose(user=request.user, case_id=case.pk, **d),
    )


ACTION_STEPS = {
    "execute": (ActionExecuteForm, services.improvement_action_execute),
    "follow_up": (ActionFollowUpForm, services.improvement_action_follow_up),
    "confirm": (ActionConfirmForm, services.improvement_action_confirm),
}


@require_POST
@login_required
def action_step(request, pk: int, step: str):
    from django.http import Http404

    if step not in ACTION_STEPS:
        raise Http404
    action = case_selectors.action_get_for_user(user=request.user, pk=pk)
    form_class, service = ACTION_STEPS[step]
    form = form_class(request.POST)
    if form.is_valid():
        try:
            service(user=request.user, action_id=action.pk, **form.cleaned_data)
        except ApplicationError as exc:
            apply_error(form, exc)
        else:
            messages.success(request, _("Saved."))
            return redirect("complaints:case_inbox") if not _sees_case(request, action) else redirect(action.case)
    if not _sees_case(request, action):
        messages.error(request, "; ".join(str(e) for errors in form.errors.values() for e in errors))
        return redirect("complaints:case_inbox")
    case = case_selectors.complaint_case_get_for_user(user=request.user, pk=action.case_id)
    return case_detail_response(request, case, record_bound={(f"action_{step}", action.pk): form}, status=400)


def _sees_case(request, action) -> bool:
    return case_selectors.scope_cases(
        type(action.case).objects.filter(pk=action.case_id), user=request.user
    ).exists() and request.user.has_perm("complaints.view_complaintcase")
