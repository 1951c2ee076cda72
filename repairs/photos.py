"""A photo of the work, kept with a visit the customer did not sign.

The same rules as the complaint attachments (``servicedesk.uploads``: no path in the name, size limit, type by
content and name, pixels bounded before decoding),
and like the signatures the picture is re-encoded so that only pixels are stored: a phone's photo is
scaled down to ``MAX_SIDE`` and kept as a JPEG of a few hundred kilobytes in the visit's row.
"""

import io

from django.conf import settings
from django.utils.translation import gettext as _
from PIL import Image, UnidentifiedImageError

from servicedesk.uploads import (
    UploadRefused,
    checked_file_name,
    checked_image_size,
    checked_upload_size,
    sniffed_type,
    too_large_message,
)

DEFAULT_MAX_BYTES = 10 * 1024 * 1024
MAX_SIDE = 1600
# Extension → (content type, magic bytes at the start of the file).
ALLOWED = {
    ".jpg": ("image/jpeg", (b"\xff\xd8\xff",)),
    ".jpeg": ("image/jpeg", (b"\xff\xd8\xff",)),
    ".png": ("image/png", (b"\x89PNG\r\n\x1a\n",)),
}


def max_photo_bytes() -> int:
    # Read when used, never at import (the complaint attachments' setting is the one limit for uploads).
    return int(getattr(settings, "COMPLAINT_ATTACHMENT_MAX_BYTES", DEFAULT_MAX_BYTES))


def work_photo_checked(upload) -> bytes:
    """The JPEG bytes of an uploaded JPEG or PNG photo; anything else is refused with a message.

    The name, the size, the type by content and the pixel count (read from the header, before anything
    decodes the picture: a PNG bomb is a few kilobytes) are checked by the shared upload rules.
    """
    not_a_photo = _("The photo must be a JPEG or PNG picture.")
    name = checked_file_name(getattr(upload, "name", "") or "", field="photo")
    limit = max_photo_bytes()
    checked_upload_size(upload, limit=limit, field="photo")
    upload.seek(0)
    raw = upload.read(limit + 1)
    if len(raw) > limit:
        raise UploadRefused(too_large_message(limit), field="photo")
    sniffed_type(name=name, head=raw[:16], allowed=ALLOWED, refused=not_a_photo, mismatch=not_a_photo, field="photo")
    image_format, _width, _height = checked_image_size(raw, field="photo")
    if image_format not in ("JPEG", "PNG"):
        raise UploadRefused(not_a_photo, field="photo")
    try:
        with Image.open(io.BytesIO(raw)) as image:
            image.draft("RGB", (MAX_SIDE, MAX_SIDE))
            picture = image.convert("RGB")
    except (UnidentifiedImageError, OSError, Image.DecompressionBombError):
        raise UploadRefused(not_a_photo, field="photo") from None
    picture.thumbnail((MAX_SIDE, MAX_SIDE))
    out = io.BytesIO()
    picture.save(out, format="JPEG", quality=80, optimize=True)
    return out.getvalue()
