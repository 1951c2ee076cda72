"""What the API answers: codes and ISO times for machines, with the translated label beside each code.

The calls, the API's busiest answers, are built by plain functions (``call_rows_data``, ``call_data``) rather
than by running a DRF serializer field by field for each row; the serializers ``CallRowSerializer`` and
``CallSerializer`` stay as the description of those answers in the OpenAPI schema, and
tests/api/test_answers.py holds the functions to the very JSON the serializers write.
"""

import datetime as dt

from django.utils import timezone
from rest_framework import serializers

from complaints.models import CustomerOpinion
from repairs.models import RepairCall
from servicedesk.models import person_name

_STATUS = dict(RepairCall.Status.choices)
_COVERAGE = dict(RepairCall.Coverage.choices)


def _iso(value: dt.datetime | None, tz) -> str | None:
    """A time as DRF's DateTimeField writes it: ISO 8601 in the current time zone, UTC written "Z"."""
    if value is None:
        return None
    text = value.astimezone(tz).isoformat()
    return text[:-6] + "Z" if text.endswith("+00:00") else text


def _labels(choices: dict) -> dict[str, str]:
    """The choices' labels in the current language, translated once per answer rather than once per row."""
    return {code: str(label) for code, label in choices.items()}


def call_rows_data(rows) -> list[dict]:
    """The call list's rows (records.selectors.CallRow) as ``CallRowSerializer`` writes them."""
    tz = timezone.get_current_timezone()
    status_labels = _labels(_STATUS)
    return [
        {
            "id": row.id,
            "number": row.number,
            "status": row.status,
            "status_label": status_labels.get(row.status, row.status),
            "received_at": _iso(row.received_at, tz),
            "attend_by": _iso(row.attend_by, tz),
            "arrived_at": _iso(row.arrived_at, tz),
            "coverage": row.coverage,
            "customer_id": row.customer_id,
            "customer_name": row.customer_name,
            "contact_name": row.contact_name,
            "contact_phone": row.contact_phone,
            "serial_number": row.serial_number,
            "zone_name": row.zone_name,
            "technician_id": row.technician_id,
            "technician_name": None
            if row.technician_id is None
            else person_name(
                username=row.technician_username,
                first_name=row.technician_first_name or "",
                last_name=row.technician_last_name or "",
            ),
            "unit_name": row.unit_name,
            "problem_start": row.problem_start,
        }
        for row in rows
    ]


def call_data(call: RepairCall) -> dict:
    """One call as ``CallSerializer`` writes it, from the call with its unit, customer, site, zone and product
    loaded (the selector's select_related, or the objects ``repair_call_log`` was given): no query here."""
    tz = timezone.get_current_timezone()
    status = str(call.status)
    coverage = str(call.coverage)
    return {
        "id": call.pk,
        "number": call.number,
        "version": call.version,
        "status": status,
        "status_label": str(_STATUS.get(status, status)),
        "allowed_transitions": list(RepairCall.TRANSITIONS.get(call.status, ())),
        "unit": call.unit_id,
        "unit_name": call.unit.name,
        "customer": call.customer_id,
        "customer_name": call.customer.name,
        "site": call.site_id,
        "site_address": call.site.address,
        "product": call.product_id,
        "serial_number": None if call.product_id is None else call.product.serial_number,
        "zone": call.zone_id,
        "zone_name": call.zone.name,
        "contact_name": call.contact_name,
        "contact_phone": call.contact_phone,
        "channel": str(call.channel),
        "coverage": coverage,
        "coverage_label": str(_COVERAGE.get(coverage, coverage)),
        "problem": call.problem,
        "received_at": _iso(call.received_at, tz),
        "attend_by": _iso(call.attend_by, tz),
        "logged_late": call.logged_late,
        "technician": call.technician_id,
        "dispatched_at": _iso(call.dispatched_at, tz),
        "arrived_at": _iso(call.arrived_at, tz),
        "arrival_typed": call.arrival_typed,
        "visit_count": call.visit_count,
        "resolved_at": _iso(call.resolved_at, tz),
        "closed_at": _iso(call.closed_at, tz),
        "outcome": call.outcome,
    }


# The schema's description of ``call_rows_data`` (a docstring here is the schema's text: kept as it was).
class CallRowSerializer(serializers.Serializer):
    """A row of the call list (records.selectors.CallRow)."""

    id = serializers.IntegerField()
    number = serializers.CharField()
    status = serializers.CharField()
    status_label = serializers.SerializerMethodField()
    received_at = serializers.DateTimeField()
    attend_by = serializers.DateTimeField()
    arrived_at = serializers.DateTimeField(allow_null=True)
    coverage = serializers.CharField()
    customer_id = serializers.IntegerField()
    customer_name = serializers.CharField()
    contact_name = serializers.CharField()
    contact_phone = serializers.CharField()
    serial_number = serializers.CharField(allow_null=True)
    zone_name = serializers.CharField()
    technician_id = serializers.IntegerField(allow_null=True)
    technician_name = serializers.SerializerMethodField()
    unit_name = serializers.CharField()
    problem_start = serializers.CharField()

    def get_status_label(self, row) -> str:
        return str(_STATUS.get(row.status, row.status))

    def get_technician_name(self, row) -> str | None:
        if row.technician_id is None:
            return None
        return person_name(
            username=row.technician_username,
            first_name=row.technician_first_name or "",
            last_name=row.technician_last_name or "",
        )


class CallPageSerializer(serializers.Serializer):
    results = CallRowSerializer(many=True)
    next = serializers.CharField(allow_null=True, help_text="The cursor of the next page (pass it as ?after=).")


# The schema's description of ``call_data``.
class CallSerializer(serializers.ModelSerializer):
    status_label = serializers.CharField(source="get_status_display", read_only=True)
    coverage_label = serializers.CharField(source="get_coverage_display", read_only=True)
    unit_name = serializers.CharField(source="unit.name", read_only=True)
    customer_name = serializers.CharField(source="customer.name", read_only=True)
    site_address = serializers.CharField(source="site.address", read_only=True)
    serial_number = serializers.CharField(source="product.serial_number", read_only=True, allow_null=True)
    zone_name = serializers.CharField(source="zone.name", read_only=True)
    allowed_transitions = serializers.SerializerMethodField()

    class Meta:
        model = RepairCall
        fields = [
            "id",
            "number",
            "version",
            "status",
            "status_label",
            "allowed_transitions",
            "unit",
            "unit_name",
            "customer",
            "customer_name",
            "site",
            "site_address",
            "product",
            "serial_number",
            "zone",
            "zone_name",
            "contact_name",
            "contact_phone",
            "channel",
            "coverage",
            "coverage_label",
            "problem",
            "received_at",
            "attend_by",
            "logged_late",
            "technician",
            "dispatched_at",
            "arrived_at",
            "arrival_typed",
            "visit_count",
            "resolved_at",
            "closed_at",
            "outcome",
        ]
        read_only_fields = fields

    def get_allowed_transitions(self, call) -> list[str]:
        return list(RepairCall.TRANSITIONS.get(call.status, ()))


class CustomerSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    unit = serializers.IntegerField(source="unit_id")
    name = serializers.CharField()
    phone = serializers.CharField()
    email = serializers.CharField()
    address = serializers.CharField()
    created_at = serializers.DateTimeField()


class ProductSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    customer = serializers.IntegerField(source="customer_id")
    site = serializers.IntegerField(source="site_id", allow_null=True)
    model = serializers.CharField()
    serial_number = serializers.CharField()
    warranty_end = serializers.DateField(allow_null=True)


class ContractSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    number = serializers.CharField()
    unit = serializers.IntegerField(source="unit_id")
    customer = serializers.IntegerField(source="customer_id")
    customer_name = serializers.CharField(source="customer.name")
    contract_type = serializers.CharField(source="contract_type.name")
    terms = serializers.SerializerMethodField()

    def get_terms(self, contract) -> list[dict]:
        return [
            {
                "sequence": term.sequence,
                "status": term.status,
                "status_label": str(term.get_status_display()),
                "start_on": term.start_on.isoformat(),
                "end_on": term.end_on.isoformat(),
            }
            for term in contract.terms.all()
        ]


class OpinionSerializer(serializers.ModelSerializer):
    kind_label = serializers.CharField(source="get_kind_display", read_only=True)
    severity_label = serializers.CharField(source="get_severity_display", read_only=True)
    status_label = serializers.CharField(source="get_status_display", read_only=True)

    class Meta:
        model = CustomerOpinion
        fields = [
            "id",
            "unit",
            "customer",
            "call",
            "technician",
            "kind",
            "kind_label",
            "severity",
            "severity_label",
            "source",
            "text",
            "received_at",
            "status",
            "status_label",
            "outcome",
        ]
        read_only_fields = fields


def page_serializer(item: type[serializers.Serializer], name: str) -> type[serializers.Serializer]:
    return type(
        name,
        (serializers.Serializer,),
        {
            "results": item(many=True),
            "next": serializers.IntegerField(allow_null=True, help_text="Pass it as ?after= for the next page."),
        },
    )
