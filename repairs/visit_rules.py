"""DOMAIN 2: a call is resolved or closed only when each visit has a signed voucher or a recorded reason.

A reason (customer absent, refused to sign) counts only with a photo of the work or a witness's name;
the database refuses a reason without either (``visit_unsigned_has_photo_or_witness``).
"""

from django.db.models import Exists, OuterRef

from .models import ServiceVoucher, Visit


def visits_without_signature(*, call_id: int) -> list[int]:
    """Numbers of the call's visits that have neither a signed voucher nor a recorded reason, in order."""
    signed = ServiceVoucher.objects.filter(visit=OuterRef("pk"), status=ServiceVoucher.Status.SIGNED)
    return list(
        Visit.objects.filter(call_id=call_id, no_signature_reason="")
        .exclude(Exists(signed))
        .order_by("number")
        .values_list("number", flat=True)
    )
