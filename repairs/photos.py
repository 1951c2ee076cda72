"""A photo of the work, kept with a visit the customer did not sign.

The same rules as the complaint attachments (type by content and name, size limit, no path in the name),
and like the signatures the picture is re-encoded so that only pixels are stored: a phone's photo is
scaled down to ``MAX_SIDE`` and kept as a JPEG of a few hundred kilobytes in the visit's row.
"""

import io
from pathlib import Path

from django.conf import settings
from django.utils.translation import gettext as _

from servicedesk.exceptions import ApplicationError

DEFAULT_MAX_BYTES = 10 * 1024 * 1024
MAX_SIDE = 1600
# Extension → magic bytes at the start of the file.
ALLOWED = {
    ".jpg": b"\xff\xd8\xff",
    ".jpeg": b"\xff\xd8\xff",
    ".png": b"\x89PNG\r\n\x1a\n",
}


def max_photo_bytes() -> int:
    # Read when used, never at import (the complaint attachments' setting is the one limit for uploads).
    return int(getattr(settings, "COMPLAINT_ATTACHMENT_MAX_BYTES", DEFAULT_MAX_BYTES))


def work_photo_checked(upload) -> bytes:
    """The JPEG bytes of an uploaded JPEG or PNG photo; anything else is refused with a message."""
    from PIL import Image, UnidentifiedImageError

    name = getattr(upload, "name", "") or ""
    if any(ch in name for ch in ("/", "\\", "\x00")) or ".." in name or len(name) > 200:
        raise ApplicationError(_("The file name must not contain a path."), field="photo")
    magic = ALLOWED.get(Path(name).suffix.lower())
    if magic is None:
        raise ApplicationError(_("The photo must be a JPEG or PNG picture."), field="photo")
    limit = max_photo_bytes()
    if upload.size is None or upload.size > limit:
        raise ApplicationError(
            _("The file is larger than %(mb)s MB.") % {"mb": round(limit / 1024 / 1024, 1)}, field="photo"
        )
    upload.seek(0)
    raw = upload.read(limit + 1)
    if len(raw) > limit or not raw.startswith(magic):
        raise ApplicationError(_("The photo must be a JPEG or PNG picture."), field="photo")
    try:
        with Image.open(io.BytesIO(raw)) as image:
            if image.format not in ("JPEG", "PNG"):
                raise ApplicationError(_("The photo must be a JPEG or PNG picture."), field="photo")
            image.draft("RGB", (MAX_SIDE, MAX_SIDE))
            picture = image.convert("RGB")
    except (UnidentifiedImageError, OSError, Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise ApplicationError(_("The photo must be a JPEG or PNG picture."), field="photo") from None
    picture.thumbnail((MAX_SIDE, MAX_SIDE))
    out = io.BytesIO()
    picture.save(out, format="JPEG", quality=80, optimize=True)
    return out.getvalue()
