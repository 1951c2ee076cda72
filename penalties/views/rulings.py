"""Thin views: rulings, their shares, proposal, adjustment, approval, corrections and notices."""

from django.contrib import messages
from django.contrib.auth.decorators import permission_required
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from complaints.case_page_cache import CasePageReads
from servicedesk.documents import pdf_response, render_pdf
from servicedesk.exceptions import ApplicationError
from servicedesk.workflow import history_for

from .. import selectors, services
from ..forms import AdjustForm, CorrectForm, ReasonForm, RulingFilterForm, ShareFormSet, VersionForm
from ..models import PenaltyRuling


def form_error(form, exc: ApplicationError) -> None:
    field = exc.field if exc.field in form.fields else None
    form.add_error(field, exc.message)


@require_GET
@permission_required("penalties.view_penaltyruling", raise_exception=True)
def ruling_list(request):
    form = RulingFilterForm(request.GET or None)
    filters = form.cleaned_data if form.is_valid() else {}
    user = request.user
    return render(
        request,
        "penalties/ruling_list.html",
        {
            "form": form,
            "page": selectors.ruling_list(user=user, filters=filters, page_number=request.GET.get("page")),
            "awaiting": selectors.cases_awaiting_ruling(user=user) if user.has_perm("penalties.propose_ruling") else [],
        },
    )


@require_POST
@permission_required("penalties.propose_ruling", raise_exception=True)
def ruling_open(request, case_pk):
    case = selectors.case_get_for_user(user=request.user, pk=case_pk)
    try:
        ruling = services.ruling_open(user=request.user, case_id=case.pk)
    except ApplicationError as exc:
        messages.error(request, exc.message)
        return redirect("penalties:ruling_list")
    messages.success(request, _("Ruling %(number)s opened.") % {"number": ruling.number})
    return redirect(ruling)


def _shares_initial(ruling):
    return [
        {
            "person": line.person_id,
            "department": line.department_id,
            "share_percent": line.share_percent,
            "personal_negligence": line.personal_negligence,
            "unattributable_reason": line.unattributable_reason,
        }
        for line in ruling.lines.all()
        if not line.is_reversal
    ]


def _all_errors(form) -> list[str]:
    if hasattr(form, "non_form_errors"):  # a formset
        return [*form.non_form_errors(), *(e for f in form.forms for errs in f.errors.values() for e in errs)]
    return [error for errors in form.errors.values() for error in errors]


def _render(request, ruling, *, bound=None, status=200):
    user = request.user
    forms = {}
    can_propose = user.has_perm("penalties.propose_ruling")
    S = PenaltyRuling.Status
    if can_propose and ruling.status == S.DRAFT and ruling.kind != PenaltyRuling.Kind.REVERSAL:
        forms["shares"] = ShareFormSet(initial=_shares_initial(ruling), prefix="shares")
    if can_propose and ruling.status in (S.DRAFT, S.PROPOSED):
        forms["version"] = VersionForm(initial={"version": ruling.version})
        forms["cancel"] = ReasonForm(initial={"version": ruling.version}, prefix="cancel")
    adjust_forms = {}
    if can_propose and ruling.status == S.PROPOSED:
        kind_choices = None
        for line in ruling.lines.all():
            if not line.is_reversal:
                kind_choices = AdjustForm.kind_choices() if kind_choices is None else kind_choices
                adjust_forms[line.pk] = AdjustForm(
                    kind_choices=kind_choices,
                    initial={
                        "version": ruling.version,
                        "penalty_kind": line.penalty_kind_id,
                        "base_units": line.base_units,
                        "amount_per_unit": line.amount_per_unit,
                    },
                    prefix=f"line{line.pk}",
                )
    approval_refusal = None
    if ruling.status == S.PROPOSED and user.has_perm("penalties.approve_ruling"):
        approval_refusal = services.approval_refusal(user=user, ruling=ruling)
        forms.setdefault("version", VersionForm(initial={"version": ruling.version}))
    live_corrections = [c for c in ruling.corrections.all() if c.status != S.CANCELLED]
    if can_propose and ruling.is_approved and not live_corrections:
        forms["correct"] = CorrectForm(prefix="correct")
    if bound:
        refused = [
            form
            for key, form in bound.items()
            if (int(key[4:]) not in adjust_forms if key.startswith("line") else key not in forms)
        ]
        if refused:
            # The ruling no longer offers the form that was posted (an approved ruling has no adjustment):
            # its errors would show nowhere, so they become messages on the ruling's page.
            for form in refused:
                for error in _all_errors(form):
                    messages.error(request, error)
            return redirect(ruling)
        for key, form in bound.items():
            if key.startswith("line"):
                adjust_forms[int(key[4:])] = form
            else:
                forms[key] = form
    lines = list(ruling.lines.all())
    for line in lines:
        line.adjust_form = adjust_forms.get(line.pk)
    history = list(history_for(ruling).select_related(None))
    kept = CasePageReads()
    kept.name_related(([ruling], selectors.RULING_NAMED), (lines, selectors.LINE_NAMED), (history, ("by",)))
    kept.name_related(([line.person for line in lines if line.person_id is not None], ("unit",)))
    loss = getattr(ruling.case, "penalty_loss", None)
    return render(
        request,
        "penalties/ruling_detail.html",
        {
            "ruling": ruling,
            "case": ruling.case,
            "loss": loss,
            "lines": lines,
            "forms": forms,
            "approval_refusal": approval_refusal,
            "can_approve": ruling.status == S.PROPOSED
            and user.has_perm("penalties.approve_ruling")
            and approval_refusal is None,
            "corrections": live_corrections,
            "history": history,
        },
        status=status,
    )


@require_GET
@permission_required("penalties.view_penaltyruling", raise_exception=True)
def ruling_detail(request, pk):
    return _render(request, selectors.ruling_get_for_user(user=request.user, pk=pk, named=False))


@require_POST
@permission_required("penalties.propose_ruling", raise_exception=True)
def ruling_shares(request, pk):
    ruling = selectors.ruling_get_for_user(user=request.user, pk=pk)
    formset = ShareFormSet(request.POST, prefix="shares")
    version = VersionForm(request.POST)
    if formset.is_valid() and version.is_valid():
        shares = [
            services.ShareInput(
                share_percent=row["share_percent"],
                person=row.get("person"),
                department=row.get("department"),
                personal_negligence=row.get("personal_negligence", False),
                unattributable_reason=row.get("unattributable_reason", ""),
            )
            for row in formset.filled()
        ]
        try:
            services.ruling_set_shares(
                user=request.user, ruling_id=ruling.pk, shares=shares, expected_version=version.cleaned_data["version"]
            )
        except ApplicationError as exc:
            formset._non_form_errors = formset.error_class([exc.message])
        else:
            messages.success(request, _("Shares saved."))
            return redirect(ruling)
    ruling = selectors.ruling_get_for_user(user=request.user, pk=pk)
    return _render(request, ruling, bound={"shares": formset}, status=400)


def _simple_action(request, pk, action, done_message, *, form_class=VersionForm, form_key="version", **extra):
    ruling = selectors.ruling_get_for_user(user=request.user, pk=pk)
    form = form_class(request.POST, prefix=None if form_class is VersionForm else form_key)
    if form.is_valid():
        kwargs = {"user": request.user, "ruling_id": ruling.pk, "expected_version": form.cleaned_data["version"]}
        if "reason" in form.cleaned_data:
            kwargs["reason"] = form.cleaned_data["reason"]
        try:
            action(**kwargs, **extra)
        except ApplicationError as exc:
            form_error(form, exc)
        else:
            messages.success(request, done_message)
            return redirect(ruling)
    ruling = selectors.ruling_get_for_user(user=request.user, pk=pk)
    return _render(request, ruling, bound={form_key: form}, status=400)


@require_POST
@permission_required("penalties.propose_ruling", raise_exception=True)
def ruling_propose(request, pk):
    return _simple_action(request, pk, services.ruling_propose, _("Proposed from the criteria table."))


@require_POST
@permission_required("penalties.propose_ruling", raise_exception=True)
def ruling_reopen(request, pk):
    return _simple_action(request, pk, services.ruling_reopen, _("Back to draft: change the shares."))


@require_POST
@permission_required("penalties.propose_ruling", raise_exception=True)
def ruling_cancel(request, pk):
    return _simple_action(
        request, pk, services.ruling_cancel, _("Ruling cancelled."), form_class=ReasonForm, form_key="cancel"
    )


@require_POST
@permission_required("penalties.approve_ruling", raise_exception=True)
def ruling_approve(request, pk):
    return _simple_action(request, pk, services.ruling_approve, _("Approved. The penalties stand."))


@require_POST
@permission_required("penalties.propose_ruling", raise_exception=True)
def line_adjust(request, pk, line_pk):
    line = selectors.line_get_for_user(user=request.user, ruling_pk=pk, line_pk=line_pk)
    key = f"line{line.pk}"
    form = AdjustForm(request.POST, prefix=key)
    if form.is_valid():
        data = form.cleaned_data
        try:
            services.ruling_line_adjust(
                user=request.user,
                line_id=line.pk,
                penalty_kind=data["penalty_kind"],
                base_units=data["base_units"],
                amount_per_unit=data["amount_per_unit"],
                reason=data["reason"],
                expected_version=data["version"],
            )
        except ApplicationError as exc:
            form_error(form, exc)
        else:
            messages.success(request, _("Line adjusted."))
            return redirect("penalties:ruling_detail", pk=pk)
    ruling = selectors.ruling_get_for_user(user=request.user, pk=pk)
    return _render(request, ruling, bound={key: form}, status=400)


@require_POST
@permission_required("penalties.propose_ruling", raise_exception=True)
def ruling_correct(request, pk):
    ruling = selectors.ruling_get_for_user(user=request.user, pk=pk)
    form = CorrectForm(request.POST, prefix="correct")
    if form.is_valid():
        try:
            correction = services.ruling_correct(
                user=request.user,
                ruling_id=ruling.pk,
                kind=form.cleaned_data["kind"],
                reason=form.cleaned_data["reason"],
            )
        except ApplicationError as exc:
            form_error(form, exc)
        else:
            messages.success(request, _("Correction %(number)s opened.") % {"number": correction.number})
            return redirect(correction)
    ruling = selectors.ruling_get_for_user(user=request.user, pk=pk)
    return _render(request, ruling, bound={"correct": form}, status=400)


@require_GET
@permission_required("penalties.view_penaltyruling", raise_exception=True)
def line_notice(request, pk, line_pk):
    """The penalty notice (处罚通知单) of one party of an approved ruling, in Chinese, as a PDF."""
    ruling = selectors.ruling_get_for_user(user=request.user, pk=pk)
    line = next((line for line in ruling.lines.all() if line.pk == line_pk), None)
    if line is None:
        raise Http404
    if not ruling.is_approved:
        messages.error(request, _("A notice is printed once the ruling is approved."))
        return redirect(ruling)
    pdf = render_pdf(
        template="penalties/pdf/notice.html",
        context={
            "ruling": ruling,
            "line": line,
            "case": ruling.case,
            "loss": getattr(ruling.case, "penalty_loss", None),
        },
    )
    return pdf_response(pdf, filename=f"{ruling.number}-{line.pk}")
