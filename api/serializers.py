"""What the API answers: codes and ISO times for machines, with the translated label beside each code."""

from rest_framework import serializers

from complaints.models import CustomerOpinion
from repairs.models import RepairCall
from servicedesk.models import person_name

_STATUS = dict(RepairCall.Status.choices)
_COVERAGE = dict(RepairCall.Coverage.choices)


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
