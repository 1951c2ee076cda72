"""The JSON API, version 1: thin adapters over the pages' own forms, selectors and services.

Every request is validated by the Django form its page uses, read through the page's scoped selector and
written by the page's service (the dispatch, arrival and resolve actions run the very table the call page
runs, ``repairs.views.calls.ACTIONS``): the same permission, the same unit boundary (another unit's object is
a 404), the same transition table. Lists are keyset pages with a fixed number of queries however deep.
"""

from django.db.models import Prefetch
from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import exceptions, status
from rest_framework.parsers import JSONParser
from rest_framework.permissions import IsAuthenticated
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response
from rest_framework.views import APIView

from complaints.models import CustomerOpinion
from complaints.selectors import customer_opinion_get_for_user
from contracts.models import Contract, ContractTerm
from contracts.selectors import contract_get_for_user
from records.forms import CallFilterForm
from records.selectors import call_history, customer_record_get
from repairs import selectors as repair_selectors
from repairs import services as repair_services
from repairs.forms import DispatchForm, RepairCallLogForm
from repairs.forms_visits import PlanVisitForm
from repairs.models import Customer, Product
from repairs.views.calls import ACTIONS
from servicedesk.exceptions import ApplicationError
from servicedesk.scoping import scope_to_user
from servicedesk.workflow import TransitionNotAllowed

from . import serializers as out
from .errors import Conflict
from .forms import ApiPageForm
from .rest import ApiUserThrottle, TokenAuthentication
from .schema import form_serializer

PAGE_SIZE = 50
# The call actions the API offers: the page's names, run by the page's table.
CALL_ACTIONS = ("dispatch", "arrive", "enter_arrival", "resolve")


def form_errors(form) -> exceptions.ValidationError:
    """A form's errors as a 400: {"detail": ..., "errors": {field: [messages]}} in the user's language."""
    errors = {name: [str(message) for message in messages] for name, messages in form.errors.items()}
    return exceptions.ValidationError({"detail": _("Correct the errors below."), "errors": errors})


class ApiView(APIView):
    authentication_classes = [TokenAuthentication]
    permission_classes = [IsAuthenticated]
    throttle_classes = [ApiUserThrottle]
    renderer_classes = [JSONRenderer]
    parser_classes = [JSONParser]
    # The Django permission the page of the same records requires, checked before any object is looked up
    # (as the pages' ``permission_required``): a role without it gets 403, another unit's object 404.
    required_permission: str | None = None

    def initial(self, request, *args, **kwargs):
        super().initial(request, *args, **kwargs)
        if self.required_permission and not request.user.has_perm(self.required_permission):
            raise exceptions.PermissionDenied(_("You are not allowed to do this."))

    def page_after(self, request) -> int | None:
        form = ApiPageForm(request.query_params)
        if not form.is_valid():
            raise form_errors(form)
        return form.cleaned_data.get("after")


def _keyset(qs, after: int | None, limit: int = PAGE_SIZE) -> tuple[list, int | None]:
    """Newest first by id; ``after`` is the last id of the previous page."""
    if after:
        qs = qs.filter(pk__lt=after)
    rows = list(qs.order_by("-pk")[: limit + 1])
    if len(rows) > limit:
        return rows[:limit], rows[limit - 1].pk
    return rows, None


# --- calls ---------------------------------------------------------------------------------------------


class CallListView(ApiView):
    def initial(self, request, *args, **kwargs):
        self.required_permission = "repairs.log_call" if request.method == "POST" else "repairs.view_repaircall"
        super().initial(request, *args, **kwargs)

    @extend_schema(
        operation_id="calls_list",
        summary="The call history, newest first",
        parameters=[
            form_serializer(CallFilterForm, "CallFilters"),
            OpenApiParameter("after", str, description="The cursor of the page (the previous page's next)."),
        ],
        responses=out.CallPageSerializer,
    )
    def get(self, request):
        form = CallFilterForm(request.query_params, user=request.user)
        if not form.is_valid():
            raise form_errors(form)
        page = call_history(user=request.user, filters=form.cleaned_data, cursor=request.query_params.get("after"))
        return Response({"results": out.call_rows_data(page.rows), "next": page.next_cursor})

    @extend_schema(
        summary="Log a repair call (clause 八), as the desk logs a phone call",
        request=form_serializer(RepairCallLogForm, "CallLog"),
        responses={201: out.CallSerializer},
    )
    def post(self, request):
        form = RepairCallLogForm(_form_data(request), user=request.user)
        if not form.is_valid():
            raise form_errors(form)
        # The answer is the call the service made, with the customer, site, zone and product it was given: no
        # second read (tests/api/test_answers.py checks it against the call read back).
        call = repair_services.repair_call_log(user=request.user, **form.log_arguments())
        return Response(out.call_data(call), status=status.HTTP_201_CREATED)


def _form_data(request) -> dict:
    if not isinstance(request.data, dict):
        raise exceptions.ValidationError({"detail": _("Send a JSON object.")})
    # A JSON null is an empty field to the form, as an empty input is on the page.
    return {key: ("" if value is None else value) for key, value in request.data.items()}


class CallDetailView(ApiView):
    required_permission = "repairs.view_repaircall"

    @extend_schema(summary="One call", responses=out.CallSerializer)
    def get(self, request, pk: int):
        call = repair_selectors.repair_call_get_for_user(user=request.user, pk=pk)
        return Response(out.call_data(call))


class CallActionView(ApiView):
    """POST a call action: the page's form, permission and service (``repairs.views.calls.ACTIONS``)."""

    action: str = ""

    def initial(self, request, *args, **kwargs):
        self.required_permission = ACTIONS[self.action][1]
        super().initial(request, *args, **kwargs)

    def post(self, request, pk: int):
        form_class, _permission, run = ACTIONS[self.action]
        call = repair_selectors.repair_call_get_for_user(user=request.user, pk=pk)
        kwargs = {}
        if form_class in (DispatchForm, PlanVisitForm):
            kwargs["technicians"] = repair_selectors.technician_choices(user=request.user, unit_id=call.unit_id)
        form = form_class(_form_data(request), **kwargs)
        if not form.is_valid():
            raise form_errors(form)
        try:
            run(request.user, call, form.cleaned_data)
        except TransitionNotAllowed as exc:
            raise Conflict({"detail": str(exc.message)}) from None
        except ApplicationError as exc:
            call.refresh_from_db(fields=["version"])
            if call.version != form.cleaned_data["version"]:  # someone changed the call since the client read it
                raise Conflict({"detail": str(exc.message)}) from None
            raise
        call = repair_selectors.repair_call_get_for_user(user=request.user, pk=pk)
        return Response(out.call_data(call))


def _action_view(action: str):
    form_class = ACTIONS[action][0]
    name = "".join(part.title() for part in action.split("_"))
    view = type(
        f"Call{name}View",
        (CallActionView,),
        {
            "action": action,
            "post": extend_schema(
                summary=f"Call action: {action}",
                request=form_serializer(form_class, f"Call{name}"),
                responses={200: out.CallSerializer},
            )(CallActionView.post),
        },
    )
    return view.as_view()


call_action_views = {action: _action_view(action) for action in CALL_ACTIONS}


# --- customers, products, contracts, opinions (read) ----------------------------------------------------

CustomerPage = out.page_serializer(out.CustomerSerializer, "CustomerPage")
ProductPage = out.page_serializer(out.ProductSerializer, "ProductPage")
ContractPage = out.page_serializer(out.ContractSerializer, "ContractPage")
OpinionPage = out.page_serializer(out.OpinionSerializer, "OpinionPage")
AFTER = OpenApiParameter("after", int, description="The last id of the previous page (its next).")


class CustomerListView(ApiView):
    required_permission = "repairs.view_customer"

    @extend_schema(
        operation_id="customers_list",
        summary="Customers of the user's unit",
        parameters=[AFTER],
        responses=CustomerPage,
    )
    def get(self, request):
        qs = scope_to_user(Customer.objects.all(), user=request.user)
        rows, after = _keyset(qs, self.page_after(request))
        return Response({"results": out.CustomerSerializer(rows, many=True).data, "next": after})


class CustomerDetailView(ApiView):
    required_permission = "repairs.view_customer"

    @extend_schema(summary="One customer", responses=out.CustomerSerializer)
    def get(self, request, pk: int):
        return Response(out.CustomerSerializer(customer_record_get(user=request.user, pk=pk)).data)


class ProductListView(ApiView):
    required_permission = "repairs.view_customer"

    @extend_schema(
        operation_id="products_list",
        summary="Products of the unit's customers",
        parameters=[AFTER],
        responses=ProductPage,
    )
    def get(self, request):
        qs = scope_to_user(Product.objects.all(), user=request.user, unit_field="customer__unit")
        rows, after = _keyset(qs, self.page_after(request))
        return Response({"results": out.ProductSerializer(rows, many=True).data, "next": after})


def _contracts(user):
    return (
        scope_to_user(Contract.objects.all(), user=user)
        .select_related("customer", "contract_type")
        .prefetch_related(Prefetch("terms", queryset=ContractTerm.objects.order_by("sequence")))
    )


class ContractListView(ApiView):
    required_permission = "contracts.view_contract"

    @extend_schema(
        operation_id="contracts_list",
        summary="Maintenance contracts with their terms",
        parameters=[AFTER],
        responses=ContractPage,
    )
    def get(self, request):
        rows, after = _keyset(_contracts(request.user), self.page_after(request))
        return Response({"results": out.ContractSerializer(rows, many=True).data, "next": after})


class ContractDetailView(ApiView):
    required_permission = "contracts.view_contract"

    @extend_schema(summary="One contract", responses=out.ContractSerializer)
    def get(self, request, pk: int):
        return Response(out.ContractSerializer(contract_get_for_user(user=request.user, pk=pk)).data)


class OpinionListView(ApiView):
    required_permission = "complaints.view_customeropinion"

    @extend_schema(
        operation_id="opinions_list", summary="Suggestions and complaints", parameters=[AFTER], responses=OpinionPage
    )
    def get(self, request):
        qs = scope_to_user(CustomerOpinion.objects.all(), user=request.user)
        rows, after = _keyset(qs, self.page_after(request))
        return Response({"results": out.OpinionSerializer(rows, many=True).data, "next": after})


class OpinionDetailView(ApiView):
    required_permission = "complaints.view_customeropinion"

    @extend_schema(summary="One suggestion or complaint", responses=out.OpinionSerializer)
    def get(self, request, pk: int):
        return Response(out.OpinionSerializer(customer_opinion_get_for_user(user=request.user, pk=pk)).data)
