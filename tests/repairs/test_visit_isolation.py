"""Branch isolation of the visit URLs: another unit's visit is a 404, its photo never leaves the unit."""

from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from repairs import services
from repairs.models import Visit
from tests.repairs.field import call_on_site
from tests.repairs.test_visits import _jpeg


def _unsigned_visit(dispatcher, technician):
    call = call_on_site(dispatcher=dispatcher, technician=technician, customer_name="Minhang Secret Works")
    visit = Visit.objects.get(call=call)
    services.visit_record_no_signature(
        user=technician,
        visit_id=visit.pk,
        reason=Visit.NoSignature.ABSENT,
        photo=SimpleUploadedFile("work.jpg", _jpeg()),
    )
    return visit


def test_another_units_supervisor_gets_404_for_a_visits_photo_and_reason(
    client, dispatcher, technician, other_supervisor
):
    visit = _unsigned_visit(dispatcher, technician)
    client.force_login(other_supervisor)
    assert client.get(reverse("repairs:visit_photo", args=[visit.pk])).status_code == 404
    response = client.post(
        reverse("repairs:visit_no_signature", args=[visit.pk]), {"reason": "refused", "witness_name": "x"}
    )
    assert response.status_code == 404
    assert Visit.objects.get(pk=visit.pk).no_signature_reason == Visit.NoSignature.ABSENT
    page = client.get(reverse("repairs:unsigned_visits")).text
    assert "Minhang Secret Works" not in page


def test_the_own_units_supervisor_sees_the_visit_in_the_list(client, dispatcher, technician, supervisor):
    _unsigned_visit(dispatcher, technician)
    client.force_login(supervisor)
    assert "Minhang Secret Works" in client.get(reverse("repairs:unsigned_visits")).text
