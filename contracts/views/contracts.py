"""Thin views: the contracts list, a contract, a new contract, renewing a term, the notice document."""

from django.contrib import messages
from django.contrib.auth.decorators import permission_required
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods

from servicedesk.documents import pdf_response
from servicedesk.exceptions import ApplicationError
from servicedesk.workflow import histories_for

from .. import selectors, services
from ..forms import ContractFilterForm, ContractForm, RenewForm
from ..models import ContractTerm


def form_error(form, exc: ApplicationError) -> None:
    field = exc.field if exc.field in form.fields else None
    form.add_error(field, exc.message)


@require_GET
@permission_required("contracts.view_contract", raise_exception=True)
def contract_list(request):
    user = request.user
    today = timezone.localdate()
    form = ContractFilterForm(request.GET or None, user=user)
    filters = form.cleaned_data if form.is_valid() else {}
    page = selectors.contract_term_list(user=user, filters=filters, today=today, page_number=request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "contracts/list.html",
        {
            "form": form,
            "page": page,
            "today": today,
            "query": query.urlencode(),
            "follow_ups_due": selectors.follow_ups_due_count(user=user, today=today),
        },
    )


@require_http_methods(["GET", "POST"])
@permission_required("contracts.manage_contracts", raise_exception=True)
def contract_new(request):
    form = ContractForm(request.POST or None, user=request.user)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            contract = services.contract_create(
                user=request.user,
                unit=data.get("unit") or request.user.unit,
                customer=data["customer"],
                contract_type=data["contract_type"],
                start_on=data["start_on"],
                end_on=data["end_on"],
                fee=data["fee"],
                visit_frequency=data["visit_frequency"],
                serial_numbers=data["serial_list"],
                sites=data["sites"],
                handled_by=data["handled_by"],
                number=data["number"],
                note=data["note"],
            )
        except ApplicationError as exc:
            form_error(form, exc)
        else:
            messages.success(request, _("Contract %(number)s created.") % {"number": contract.number})
            return redirect(contract)
    return render(request, "contracts/contract_form.html", {"form": form}, status=400 if form.errors else 200)


def _latest_renewable(contract):
    terms = list(contract.terms.all())  # prefetched, latest first
    if terms and terms[0].status in (ContractTerm.Status.ACTIVE, ContractTerm.Status.EXPIRED):
        return terms[0]
    return None


@require_GET
@permission_required("contracts.view_contract", raise_exception=True)
def contract_detail(request, pk):
    contract = selectors.contract_get_for_user(user=request.user, pk=pk)
    return _render_detail(request, contract)


def _render_detail(request, contract, renew_form=None, status=200):
    today = timezone.localdate()
    terms = list(contract.terms.all())
    histories = histories_for(terms)  # the terms' histories in one query however many renewals
    for term in terms:
        term.state = selectors.term_state(term, today=today)
        term.history = histories[term.pk]
    renewable = _latest_renewable(contract)
    if renewable and renew_form is None and request.user.has_perm("contracts.manage_contracts"):
        renew_form = RenewForm.for_term(renewable)
    return render(
        request,
        "contracts/contract_detail.html",
        {
            "contract": contract,
            "terms": terms,
            "renewable": renewable,
            "renew_form": renew_form if renewable else None,
            "today": today,
            "planned": selectors.planned_visits_of_contract(contract=contract),
        },
        status=status,
    )


@require_http_methods(["POST"])
@permission_required("contracts.manage_contracts", raise_exception=True)
def term_renew(request, pk):
    """Renew from the contract page or from the follow-up page (``next`` says where to go back)."""
    term = selectors.contract_term_get_for_user(user=request.user, pk=pk)
    form = RenewForm(request.POST)
    if form.is_valid():
        data = form.cleaned_data
        try:
            new_term = services.contract_term_renew(
                user=request.user,
                term_id=term.pk,
                start_on=data["start_on"],
                end_on=data["end_on"],
                fee=data["fee"],
                visit_frequency=data["visit_frequency"],
                note=data["note"],
                expected_version=data["version"],
            )
        except ApplicationError as exc:
            form_error(form, exc)
        else:
            messages.success(
                request,
                _("Contract %(number)s renewed: term %(sequence)d runs from %(start)s to %(end)s.")
                % {
                    "number": term.contract.number,
                    "sequence": new_term.sequence,
                    "start": new_term.start_on,
                    "end": new_term.end_on,
                },
            )
            return redirect(term.contract)
    contract = selectors.contract_get_for_user(user=request.user, pk=term.contract_id)
    return _render_detail(request, contract, renew_form=form, status=400)


@require_GET
@permission_required("contracts.view_contract", raise_exception=True)
def notice_pdf(request, pk):
    notice = selectors.expiry_notice_get_for_user(user=request.user, pk=pk)
    return pdf_response(services.expiry_notice_pdf(notice), filename=notice.number)
