from django.urls import reverse

from repairs.models import RepairCall
from tests.factories import log_call


def test_a_logged_call_appears_on_its_units_board(client, dispatcher):
    call = log_call(dispatcher=dispatcher)
    client.force_login(dispatcher)
    response = client.get(reverse("repairs:board"))
    assert response.status_code == 200
    assert call.number in response.text
    assert call.status == RepairCall.Status.LOGGED
