"""Visits: the reason a customer could not sign (with a photo or a witness), its photo, the supervisor's list."""

from django.contrib import messages
from django.contrib.auth.decorators import permission_required
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from servicedesk.exceptions import ApplicationError

from .. import selectors_field, selectors_visits, services
from ..forms_visits import NoSignatureForm
from .calls import _render_detail


@require_POST
@permission_required("repairs.fill_voucher", raise_exception=True)
def visit_no_signature(request, pk):
    visit = selectors_visits.visit_get_for_user(user=request.user, pk=pk)
    form = NoSignatureForm(request.POST, request.FILES)
    if form.is_valid():
        data = form.cleaned_data
        try:
            services.visit_record_no_signature(
                user=request.user,
                visit_id=visit.pk,
                reason=data["reason"],
                note=data["note"],
                witness_name=data["witness_name"],
                photo=data["photo"] or None,
            )
        except ApplicationError as exc:
            form.add_error(exc.field if exc.field in form.fields else None, exc.message)
        else:
            messages.success(
                request, _("Recorded why the customer could not sign visit %(number)d.") % {"number": visit.number}
            )
            return redirect(visit.call)
    form.visit_id = visit.pk
    call = selectors_field.call_detail_get_for_user(user=request.user, pk=visit.call_id)
    return _render_detail(request, call, status=400, no_signature_form=form)


@require_GET
@permission_required("repairs.view_servicevoucher", raise_exception=True)
def visit_photo(request, pk):
    visit = selectors_visits.visit_get_for_user(user=request.user, pk=pk, with_photo=True)
    if not visit.work_photo:
        return HttpResponse(status=404)
    response = HttpResponse(bytes(visit.work_photo), content_type="image/jpeg")
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Disposition"] = f'inline; filename="visit-{visit.pk}.jpg"'
    return response


@require_GET
@permission_required("repairs.supervise_repairs", raise_exception=True)
def unsigned_visits(request):
    return render(
        request,
        "repairs/unsigned_visits.html",
        {"visits": selectors_visits.unsigned_visits(user=request.user), "show_unit": request.user.sees_all_units},
    )
