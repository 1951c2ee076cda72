"""Thin views: upload a file of existing contracts, watch it being checked and imported, see its errors."""

import logging

from django.contrib import messages
from django.contrib.auth.decorators import permission_required
from django.db import transaction
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from servicedesk.exceptions import ApplicationError
from servicedesk.progress import progress_context, progress_partial

from .. import selectors, services
from ..forms import ContractImportForm
from ..models import ContractImport
from ..services.imports import (
    COLUMN_LABELS,
    INLINE_IMPORT_BYTES,
    MAX_IMPORT_ROWS,
    TEMPLATE_HEADER,
    import_error_rows,
    import_is_stuck,
    import_progress_now,
    template_csv,
)
from .contracts import form_error

log = logging.getLogger(__name__)


def _start(batch: ContractImport) -> bool:
    """Run a small file now; queue a large one for the worker. False if the worker cannot be reached."""
    if len(batch.content) <= INLINE_IMPORT_BYTES:
        services.contract_import_run(import_id=batch.pk)
        return True
    from ..tasks import run_contract_import

    try:
        run_contract_import.apply_async(args=[batch.pk], retry=False)
    except Exception:
        log.warning("broker unavailable; contract import %s waits", batch.pk, exc_info=True)
        return False
    return True


def _start_after_commit(request, batch):
    def start():
        if not _start(batch):
            messages.warning(request, _("The background worker cannot be reached; start the import again later."))

    transaction.on_commit(start)


@require_http_methods(["GET", "POST"])
@permission_required("contracts.manage_contracts", raise_exception=True)
def import_upload(request):
    form = ContractImportForm(request.POST or None, request.FILES or None, user=request.user)
    if request.method == "POST" and form.is_valid():
        upload = form.cleaned_data["file"]
        try:
            with transaction.atomic():
                batch = services.contract_import_upload(
                    user=request.user,
                    unit=form.cleaned_data.get("unit") or request.user.unit,
                    filename=upload.name,
                    content=upload.read(),
                    import_valid_rows=form.cleaned_data["import_valid_rows"],
                )
                _start_after_commit(request, batch)
        except ApplicationError as exc:
            form_error(form, exc)
        else:
            return redirect(batch)
    return render(
        request,
        "contracts/import_upload.html",
        {
            "form": form,
            "imports": selectors.contract_imports_recent(user=request.user),
            # The columns as a person names them, in their language (each is an accepted header).
            "columns": [COLUMN_LABELS[column] for column in TEMPLATE_HEADER],
            "max_rows": MAX_IMPORT_ROWS,
        },
        status=400 if form.errors else 200,
    )


def _progress_context(batch):
    done, total = import_progress_now(batch)
    return {
        "batch": batch,
        **progress_context(
            done=done,
            total=total,
            running=batch.is_running,
            status_label=batch.get_status_display(),
            url=reverse("contracts:import_progress", args=[batch.pk]),
            element_id="import-progress",
        ),
    }


@require_GET
@permission_required("contracts.manage_contracts", raise_exception=True)
def import_detail(request, pk):
    batch = selectors.contract_import_get_for_user(user=request.user, pk=pk)
    context = _progress_context(batch)
    context["errors"] = import_error_rows(batch)
    context["can_restart"] = batch.status == ContractImport.Status.QUEUED or import_is_stuck(batch)
    return render(request, "contracts/import_detail.html", context)


@require_GET
@permission_required("contracts.manage_contracts", raise_exception=True)
def import_progress(request, pk):
    """Polled by htmx while the import runs; once it is done the whole page reloads to show the report."""
    batch = selectors.contract_import_get_for_user(user=request.user, pk=pk)
    return progress_partial(request, _progress_context(batch))


@require_POST
@permission_required("contracts.manage_contracts", raise_exception=True)
def import_valid_rows(request, pk):
    batch = selectors.contract_import_get_for_user(user=request.user, pk=pk)
    try:
        with transaction.atomic():
            batch = services.contract_import_accept_valid_rows(user=request.user, import_id=batch.pk)
            _start_after_commit(request, selectors.contract_import_get_for_user(user=request.user, pk=batch.pk))
    except ApplicationError as exc:
        messages.error(request, exc.message)
    return redirect("contracts:import_detail", pk=pk)


@require_POST
@permission_required("contracts.manage_contracts", raise_exception=True)
def import_restart(request, pk):
    """Start a waiting import again (the worker could not be reached), or a stuck one (its worker stopped)."""
    batch = selectors.contract_import_get_for_user(user=request.user, pk=pk)
    try:
        batch = services.contract_import_restart(user=request.user, import_id=batch.pk)
    except ApplicationError as exc:
        messages.error(request, exc.message)
    else:
        if not _start(batch):
            messages.warning(request, _("The background worker cannot be reached; start the import again later."))
    return redirect("contracts:import_detail", pk=pk)


@require_GET
@permission_required("contracts.manage_contracts", raise_exception=True)
def import_template(request):
    response = HttpResponse("\ufeff" + template_csv(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = 'attachment; filename="contracts-template.csv"'
    return response
