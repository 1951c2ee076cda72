"""Signatures drawn on a phone's screen arrive as a PNG data URL; they are checked and stored as PNG bytes."""

import base64
import binascii
import io

from django.utils.translation import gettext as _

from servicedesk.exceptions import ApplicationError
from servicedesk.uploads import UploadRefused, checked_image_size

MAX_SIGNATURE_BYTES = 400_000
MAX_SIDE = 2000
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
DATA_URL_PREFIX = "data:image/png;base64,"


def signature_from_data_url(value: str) -> bytes:
    """The PNG bytes of a canvas's ``toDataURL()``; refuses anything else."""
    value = (value or "").strip()
    if not value:
        raise ApplicationError(_("The customer has not signed yet."), field="signature")
    if not value.startswith(DATA_URL_PREFIX):
        raise ApplicationError(_("The signature is not a drawn image."), field="signature")
    if len(value) > MAX_SIGNATURE_BYTES * 4 // 3 + len(DATA_URL_PREFIX) + 4:
        raise ApplicationError(_("The signature image is too large."), field="signature")
    try:
        raw = base64.b64decode(value[len(DATA_URL_PREFIX) :], validate=True)
    except (binascii.Error, ValueError):
        raise ApplicationError(_("The signature is not a drawn image."), field="signature") from None
    return signature_png_checked(raw)


def signature_png_checked(raw: bytes) -> bytes:
    """A real, non-blank PNG of sane size, re-encoded so that only pixels are stored."""
    from PIL import Image, UnidentifiedImageError

    if not raw.startswith(PNG_MAGIC) or len(raw) > MAX_SIGNATURE_BYTES:
        raise ApplicationError(_("The signature is not a drawn image."), field="signature")
    try:
        # Pixels bounded from the header before decoding (Pillow's guard set in servicedesk.uploads).
        checked_image_size(raw, field="signature", max_pixels=MAX_SIDE * MAX_SIDE)
    except UploadRefused:
        raise ApplicationError(_("The signature image is too large."), field="signature") from None
    try:
        with Image.open(io.BytesIO(raw)) as image:
            if image.format != "PNG" or max(image.size) > MAX_SIDE:
                raise ApplicationError(_("The signature is not a drawn image."), field="signature")
            image = image.convert("RGBA")
    except (UnidentifiedImageError, OSError, Image.DecompressionBombError):
        raise ApplicationError(_("The signature is not a drawn image."), field="signature") from None
    # Ink is whatever is not white once the drawing is laid on white paper.
    paper = Image.new("RGBA", image.size, (255, 255, 255, 255))
    paper.alpha_composite(image)
    if Image.eval(paper.convert("L"), lambda v: 255 - v if v < 245 else 0).getbbox() is None:
        raise ApplicationError(_("The signature is empty: ask the customer to sign in the box."), field="signature")
    out = io.BytesIO()
    image.save(out, format="PNG", optimize=True)
    return out.getvalue()
