"""Attachments: JPEG, PNG or PDF by content and name, size-limited, stored privately, served to the case's people."""

import io
import re
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from complaints.models import CaseAttachment
from complaints.services import case_attachment_add
from complaints.services.attachments import attachment_path
from servicedesk.exceptions import ApplicationError
from servicedesk.roles import Role
from tests.factories import UserFactory


def picture(image_format: str) -> bytes:
    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (8, 8), (200, 0, 0)).save(out, format=image_format)
    return out.getvalue()


JPEG = picture("JPEG")
PNG = picture("PNG")
PDF = b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n" + b"0" * 64


@pytest.fixture(autouse=True)
def private_media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


def upload(name, content, content_type="application/octet-stream"):
    return SimpleUploadedFile(name, content, content_type=content_type)


@pytest.mark.parametrize(
    "name,content,expected",
    [("现场.JPG", JPEG, "image/jpeg"), ("a.png", PNG, "image/png"), ("scan.pdf", PDF, "application/pdf")],
)
def test_photos_and_scans_are_stored_under_a_generated_name_outside_the_web_root(
    flow, private_media, name, content, expected
):
    case = flow.open()
    attachment = case_attachment_add(user=flow.people["dispatcher"], case_id=case.pk, upload=upload(name, content))
    assert attachment.content_type == expected and attachment.original_name == name
    path = attachment_path(attachment)
    assert path.read_bytes() == content
    assert path.parent == Path(private_media) / "private" / "complaints"
    # A generated name: "a.png" may well end a random hex one, so the whole stem is checked.
    assert re.fullmatch(r"[0-9a-f]{32}", path.stem) and path.suffix == Path(name).suffix.lower()


@pytest.mark.parametrize(
    "name,content",
    [
        ("photo.jpg", b"MZ\x90\x00 this is an exe"),  # wrong content for the name
        ("photo.png", b"<html><script>alert(1)</script></html>"),
        ("scan.pdf", PNG),  # a real PNG named .pdf
        ("page.html", b"<html></html>"),  # extension not allowed
        ("archive.svg", b"<svg onload=alert(1)>"),
        ("noextension", JPEG),
    ],
)
def test_a_file_of_the_wrong_type_is_refused(flow, private_media, name, content):
    case = flow.open()
    with pytest.raises(ApplicationError):
        case_attachment_add(user=flow.people["dispatcher"], case_id=case.pk, upload=upload(name, content))
    assert not CaseAttachment.objects.exists()
    assert not any(Path(private_media).rglob("*.*"))


class RawUpload:
    """An upload whose name was not cleaned by Django's parser (a client or a caller that skips it)."""

    def __init__(self, name, content):
        import io

        self.name, self.size, self._io = name, len(content), io.BytesIO(content)

    def seek(self, pos):
        self._io.seek(pos)

    def read(self, n=-1):
        return self._io.read(n)

    def chunks(self):
        yield self._io.read()


@pytest.mark.parametrize("name", ["../../etc/passwd.jpg", "..\\evil.jpg", "sub/photo.jpg", "/abs.jpg", "a\x00.jpg"])
def test_a_path_in_the_name_is_refused(flow, name):
    case = flow.open()
    with pytest.raises(ApplicationError, match="path"):
        case_attachment_add(user=flow.people["dispatcher"], case_id=case.pk, upload=RawUpload(name, JPEG))
    assert not CaseAttachment.objects.exists()


def test_a_path_sent_through_the_page_never_leaves_the_private_folder(client, flow, private_media):
    case = flow.open()
    client.force_login(flow.people["dispatcher"])
    evil = upload("../../../../tmp/evil.jpg", JPEG)
    evil.name = "../../../../tmp/evil.jpg"  # what a hostile client puts in the multipart header
    client.post(reverse("complaints:attachment_upload", args=[case.pk]), {"file": evil})
    for attachment in CaseAttachment.objects.all():
        assert "/" not in attachment.original_name and ".." not in attachment.original_name
        assert attachment_path(attachment).resolve().is_relative_to(Path(private_media).resolve())
    assert not (Path(private_media).parent / "evil.jpg").exists()


def test_an_oversize_file_is_refused(flow, settings, private_media):
    settings.COMPLAINT_ATTACHMENT_MAX_BYTES = 1024
    case = flow.open()
    with pytest.raises(ApplicationError, match="larger"):
        case_attachment_add(
            user=flow.people["dispatcher"], case_id=case.pk, upload=upload("big.jpg", JPEG + b"0" * 2000)
        )
    assert not CaseAttachment.objects.exists()
    assert not any(Path(private_media).rglob("*.jpg"))


def test_the_upload_page_shows_the_refusal_as_a_form_error(client, flow):
    case = flow.open()
    client.force_login(flow.people["dispatcher"])
    response = client.post(reverse("complaints:attachment_upload", args=[case.pk]), {"file": upload("x.jpg", b"nope")})
    assert response.status_code == 400
    assert "JPEG" in response.text
    assert not CaseAttachment.objects.exists()


def test_the_download_is_an_attachment_with_nosniff(client, flow):
    case = flow.open()
    attachment = case_attachment_add(
        user=flow.people["dispatcher"], case_id=case.pk, upload=upload("现场照片.jpg", JPEG)
    )
    client.force_login(flow.people["quality"])  # head office: sees every case
    response = client.get(reverse("complaints:attachment_download", args=[attachment.pk]))
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == JPEG
    assert response["Content-Type"] == "image/jpeg"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Content-Disposition"].startswith("attachment;")


def test_another_branchs_file_is_not_found(client, flow, other_unit):
    case = flow.open()
    attachment = case_attachment_add(user=flow.people["dispatcher"], case_id=case.pk, upload=upload("a.jpg", JPEG))
    stranger = UserFactory(username="sz-sup", unit=other_unit, roles=[Role.SUPERVISOR])
    client.force_login(stranger)
    assert client.get(reverse("complaints:attachment_download", args=[attachment.pk])).status_code == 404
    assert (
        client.post(
            reverse("complaints:attachment_upload", args=[case.pk]), {"file": upload("b.jpg", JPEG)}
        ).status_code
        == 404
    )
    with pytest.raises(ApplicationError):
        case_attachment_add(user=stranger, case_id=case.pk, upload=upload("c.jpg", JPEG))
    assert CaseAttachment.objects.count() == 1


def test_a_missing_file_is_a_404_not_a_500(client, flow):
    case = flow.open()
    attachment = case_attachment_add(user=flow.people["dispatcher"], case_id=case.pk, upload=upload("a.png", PNG))
    attachment_path(attachment).unlink()
    client.force_login(flow.people["dispatcher"])
    assert client.get(reverse("complaints:attachment_download", args=[attachment.pk])).status_code == 404


@pytest.mark.parametrize(
    "width,height",
    [(50_000, 50_000), (9_000, 8_000)],  # beyond Pillow's own bomb guard; just beyond MAX_IMAGE_PIXELS
)
def test_a_png_pixel_bomb_is_refused_before_it_is_decoded(client, flow, private_media, width, height):
    from servicedesk.uploads import MAX_IMAGE_PIXELS
    from tests.bombs import png_bomb

    assert width * height > MAX_IMAGE_PIXELS
    bomb = png_bomb(width, height)
    assert len(bomb) < 100_000
    case = flow.open()
    client.force_login(flow.people["dispatcher"])
    response = client.post(reverse("complaints:attachment_upload", args=[case.pk]), {"file": upload("bomb.png", bomb)})
    assert response.status_code == 400
    assert "too many pixels" in response.text
    assert not CaseAttachment.objects.exists()
    assert not any(Path(private_media).rglob("*.png"))


def test_a_jpeg_that_is_not_a_picture_is_refused(flow, private_media):
    case = flow.open()
    with pytest.raises(ApplicationError, match="not a picture"):
        case_attachment_add(
            user=flow.people["dispatcher"], case_id=case.pk, upload=upload("x.jpg", b"\xff\xd8\xff" + b"\0" * 64)
        )
    assert not CaseAttachment.objects.exists()
