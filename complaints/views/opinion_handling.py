"""Handling customers' suggestions and complaints (clauses 二十三, 二十六, 二十八).

Serious ones wait in the deputy general manager's queue, general ones in the service
department's; the unit's supervisor records the personal follow-up of every complaint.
"""

from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from repairs.models import Customer, RepairCall
from servicedesk.documents import pdf_response
from servicedesk.exceptions import ApplicationError
from servicedesk.scoping import scope_to_user
from servicedesk.workflow import history_for

from .. import case_selectors, selectors, services
from ..case_forms import (
    FollowUpForm,
    OpinionClassifyForm,
    OpinionCloseForm,
    OpinionForwardForm,
    OpinionRecordForm,
    OpinionResolveForm,
)
from ..case_page_cache import CasePageReads
from ..documents import opinion_letter_pdf
from ..models import CustomerOpinion
from ..services.opinions import follow_up_refusal, may_handle, may_record_follow_up

INBOX_LIMIT = 200


def _apply_error(form, exc: ApplicationError) -> None:
    form.add_error(exc.field if exc.field in form.fields else None, exc.message)


@require_GET
@login_required
def opinion_inbox(request):
    opinions = list(case_selectors.opinion_inbox(user=request.user)[:INBOX_LIMIT])
    return render(request, "complaints/opinion_inbox.html", {"opinions": opinions, "limit": INBOX_LIMIT})


@require_http_methods(["GET", "POST"])
@permission_required("complaints.record_opinion", raise_exception=True)
def opinion_record(request):
    user = request.user
    kwargs = {
        "units": selectors.units_visible(user=user),
        "customers": scope_to_user(Customer.objects.all(), user=user).order_by("name"),
        "calls": scope_to_user(RepairCall.objects.select_related("technician"), user=user),
    }
    form = OpinionRecordForm(request.POST or None, **kwargs)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            opinion = services.customer_opinion_record(
                unit=data["unit"],
                customer=data["customer"],
                call=data["call"],
                technician=data["call"].technician if data["call"] else None,
                kind=data["kind"],
                severity=data["severity"],
                source=data["source"],
                text=data["text"],
                received_at=data["received_at"],
                by=user,
            )
        except ApplicationError as exc:
            _apply_error(form, exc)
        else:
            messages.success(request, _("Recorded."))
            if user.has_perm("complaints.view_customeropinion"):
                return redirect("complaints:opinion_detail", pk=opinion.pk)
            return redirect("complaints:opinion_record")
    return render(request, "complaints/opinion_record.html", {"form": form})


OPINION_ACTIONS = {
    "classify": OpinionClassifyForm,
    "forward": OpinionForwardForm,
    "resolve": OpinionResolveForm,
    "close": OpinionCloseForm,
    "follow_up": FollowUpForm,
}


def _action_forms(*, user, opinion: CustomerOpinion) -> dict:
    forms = {}
    handled = opinion.status in (CustomerOpinion.Status.RESOLVED, CustomerOpinion.Status.CLOSED)
    if may_handle(user=user, opinion=opinion) and not handled:
        forms["classify"] = OpinionClassifyForm(initial={"kind": opinion.kind, "severity": opinion.severity})
        if opinion.queue == CustomerOpinion.Queue.DEPUTY_GM and opinion.status != CustomerOpinion.Status.FORWARDED:
            forms["forward"] = OpinionForwardForm()
        forms["resolve"] = OpinionResolveForm()
    if may_handle(user=user, opinion=opinion) and opinion.status == CustomerOpinion.Status.RESOLVED:
        forms["close"] = OpinionCloseForm()
    if may_record_follow_up(user=user, opinion=opinion):
        forms["follow_up"] = FollowUpForm()
    return forms


def _detail(request, opinion, bound: dict | None = None, status: int = 200):
    follow_ups = list(opinion.follow_ups.all())
    history = list(history_for(opinion).select_related(None))
    kept = CasePageReads()
    kept.name_related(([opinion], case_selectors.OPINION_NAMED), (follow_ups, ("supervisor",)), (history, ("by",)))
    forms = _action_forms(user=request.user, opinion=opinion)
    forms.update(bound or {})
    return render(
        request,
        "complaints/opinion_detail.html",
        {
            "opinion": opinion,
            "history": history,
            "follow_ups": follow_ups,
            # Clause 二十八: say so when what is recorded (a phone call) is not the follow-up.
            "follow_up_refusal": follow_up_refusal(
                opinion=opinion, follow_ups=follow_ups, methods_that_count=kept.methods_that_count
            ),
            "cases": list(opinion.cases.all()),
            "action_forms": forms,
            "may_open_case": request.user.has_perm("complaints.open_case")
            and opinion.kind == CustomerOpinion.Kind.COMPLAINT,
        },
        status=status,
    )


@require_GET
@permission_required("complaints.view_customeropinion", raise_exception=True)
def opinion_detail(request, pk: int):
    opinion = case_selectors.opinion_detail(user=request.user, pk=pk, named=False)
    return _detail(request, opinion)


@require_POST
@permission_required("complaints.view_customeropinion", raise_exception=True)
def opinion_action(request, pk: int, action: str):
    opinion = case_selectors.opinion_detail(user=request.user, pk=pk)
    form_class = OPINION_ACTIONS.get(action)
    if form_class is None:
        raise Http404
    form = form_class(request.POST)
    if form.is_valid():
        data, user = form.cleaned_data, request.user
        try:
            if action == "classify":
                services.customer_opinion_classify(
                    user=user, opinion_id=opinion.pk, kind=data["kind"], severity=data["severity"], note=data["note"]
                )
            elif action == "forward":
                services.customer_opinion_forward(
                    user=user, opinion_id=opinion.pk, to_unit=data["to_unit"], note=data["note"]
                )
            elif action == "resolve":
                services.customer_opinion_resolve(user=user, opinion_id=opinion.pk, outcome=data["outcome"])
            elif action == "close":
                services.customer_opinion_close(user=user, opinion_id=opinion.pk, note=data["note"])
            elif action == "follow_up":
                services.opinion_follow_up_record(
                    user=user,
                    opinion_id=opinion.pk,
                    followed_up_at=data["followed_up_at"],
                    method=data["method"],
                    summary=data["summary"],
                )
        except ApplicationError as exc:
            _apply_error(form, exc)
        else:
            messages.success(request, _("Saved."))
            return redirect("complaints:opinion_detail", pk=opinion.pk)
    opinion.refresh_from_db()
    return _detail(request, opinion, bound={action: form}, status=400)


@require_GET
@permission_required("complaints.view_customeropinion", raise_exception=True)
def opinion_letter(request, pk: int):
    """The letter (函告) to the customer of a serious complaint, once it has been handled."""
    opinion = case_selectors.opinion_detail(user=request.user, pk=pk)
    if not opinion.letter_number:
        raise Http404
    return pdf_response(opinion_letter_pdf(opinion=opinion), filename=f"letter-{opinion.letter_number}")
