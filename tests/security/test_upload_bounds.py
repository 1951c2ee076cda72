"""Every upload is bounded (issue 12): a request's whole upload as it arrives, each field's file, a picture's
pixels (signatures here; photos in tests/complaints/test_cases_attachments.py; .xlsx and CSV bombs in
tests/contracts/test_import_bombs.py)."""

import base64
import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import translation

from contracts.models import ContractImport
from repairs.signatures import signature_from_data_url, signature_png_checked
from servicedesk.exceptions import ApplicationError
from servicedesk.uploads import max_upload_bytes
from tests.bombs import png_bomb


@pytest.fixture(autouse=True)
def _english():
    # The messages are asserted in English, whatever an earlier test left active.
    with translation.override("en"):
        yield


@pytest.mark.parametrize(
    "width,height,reason",
    [(100_000, 100_000, "too large"), (2_001, 2_000, "too large"), (50_000, 10, "not a drawn image")],
)
def test_a_signature_png_bomb_is_refused(width, height, reason):
    bomb = png_bomb(width, height)
    with pytest.raises(ApplicationError, match=reason):
        signature_png_checked(bomb)
    with pytest.raises(ApplicationError):
        signature_from_data_url("data:image/png;base64," + base64.b64encode(bomb).decode())


def test_a_request_uploading_more_than_the_bound_is_refused_as_it_arrives(client, dispatcher, settings):
    settings.UPLOAD_MAX_REQUEST_BYTES = 10_000
    client.force_login(dispatcher)
    file = io.BytesIO(b"a,b\n" * 5_000)
    file.name = "contracts.csv"
    response = client.post(reverse("contracts:import"), {"file": file})
    assert response.status_code == 400
    assert not ContractImport.objects.exists()


def test_a_request_within_the_bound_is_read(client, dispatcher, settings):
    settings.UPLOAD_MAX_REQUEST_BYTES = 10_000
    client.force_login(dispatcher)
    file = io.BytesIO(b"a,b\n")
    file.name = "contracts.pdf"
    response = client.post(reverse("contracts:import"), {"file": file})
    assert response.status_code == 400  # the form's own refusal of a .pdf, with the page
    assert "csv" in response.text


def test_the_field_validator_refuses_a_file_over_its_bound():
    validate = max_upload_bytes(100)
    validate(SimpleUploadedFile("a.csv", b"x" * 100))
    with pytest.raises(Exception, match="larger than"):
        validate(SimpleUploadedFile("a.csv", b"x" * 101))
