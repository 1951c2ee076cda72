"""Thin views: the unit's renewal follow-ups, one follow-up, its outcome and who handles it."""

from django.contrib import messages
from django.contrib.auth.decorators import permission_required
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from servicedesk.exceptions import ApplicationError
from servicedesk.workflow import history_for

from .. import selectors, services
from ..forms import FollowUpAssignForm, FollowUpFilterForm, FollowUpOutcomeForm, RenewForm
from ..models import ContractTerm, RenewalFollowUp
from .contracts import form_error


@require_GET
@permission_required("contracts.view_contract", raise_exception=True)
def follow_up_list(request):
    user = request.user
    today = timezone.localdate()
    form = FollowUpFilterForm(request.GET or None, user=user)
    filters = form.cleaned_data if form.is_valid() else {}
    return render(
        request,
        "contracts/follow_ups.html",
        {
            "form": form,
            "follow_ups": selectors.follow_ups_list(user=user, filters=filters, today=today),
            "today": today,
            "closed": filters.get("closed"),
        },
    )


def _render(request, follow_up, bound=None, status=200):
    user = request.user
    forms = {}
    term = follow_up.term
    can_act = user.has_perm("contracts.follow_up_renewals")
    if follow_up.status in RenewalFollowUp.PENDING and can_act:
        forms["outcome"] = FollowUpOutcomeForm(initial={"version": follow_up.version})
        forms["assign"] = FollowUpAssignForm(
            initial={"version": follow_up.version, "assigned_to": follow_up.assigned_to_id, "due_on": follow_up.due_on},
            unit_id=follow_up.unit_id,
        )
    renewable = term.status in (ContractTerm.Status.ACTIVE, ContractTerm.Status.EXPIRED)
    if renewable and user.has_perm("contracts.manage_contracts"):
        forms["renew"] = RenewForm.for_term(term)
    if bound:
        forms.update(bound)
    return render(
        request,
        "contracts/follow_up_detail.html",
        {
            "follow_up": follow_up,
            "term": term,
            "contract": term.contract,
            "forms": forms,
            "history": history_for(follow_up),
            "today": timezone.localdate(),
        },
        status=status,
    )


@require_GET
@permission_required("contracts.view_contract", raise_exception=True)
def follow_up_detail(request, pk):
    follow_up = selectors.follow_up_get_for_user(user=request.user, pk=pk)
    return _render(request, follow_up)


@require_POST
@permission_required("contracts.follow_up_renewals", raise_exception=True)
def follow_up_outcome(request, pk):
    follow_up = selectors.follow_up_get_for_user(user=request.user, pk=pk)
    form = FollowUpOutcomeForm(request.POST)
    if form.is_valid():
        try:
            services.renewal_follow_up_record(
                user=request.user,
                follow_up_id=follow_up.pk,
                outcome=form.cleaned_data["outcome"],
                note=form.cleaned_data["note"],
                expected_version=form.cleaned_data["version"],
            )
        except ApplicationError as exc:
            form_error(form, exc)
        else:
            messages.success(request, _("Outcome recorded."))
            return redirect("contracts:follow_ups")
    follow_up = selectors.follow_up_get_for_user(user=request.user, pk=pk)
    return _render(request, follow_up, bound={"outcome": form}, status=400)


@require_POST
@permission_required("contracts.follow_up_renewals", raise_exception=True)
def follow_up_assign(request, pk):
    follow_up = selectors.follow_up_get_for_user(user=request.user, pk=pk)
    form = FollowUpAssignForm(request.POST, unit_id=follow_up.unit_id)
    if form.is_valid():
        try:
            services.renewal_follow_up_assign(
                user=request.user,
                follow_up_id=follow_up.pk,
                assigned_to=form.cleaned_data["assigned_to"],
                due_on=form.cleaned_data["due_on"],
                expected_version=form.cleaned_data["version"],
            )
        except ApplicationError as exc:
            form_error(form, exc)
        else:
            messages.success(request, _("Follow-up updated."))
            return redirect(follow_up)
    follow_up = selectors.follow_up_get_for_user(user=request.user, pk=pk)
    return _render(request, follow_up, bound={"assign": form}, status=400)
