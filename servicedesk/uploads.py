"""Every bound on an uploaded file comes from here (issue 12: uploads and decompression bombs).

- The request: ``settings.UPLOAD_MAX_REQUEST_BYTES`` bounds what one request may upload at all
  (``BoundedUploadHandler``, before anything is written to a temporary file); each form field has its own,
  smaller bound (``max_upload_bytes`` validator and the field's service).
- Images: a photo's or signature's pixel dimensions are read from its header and refused beyond
  ``MAX_IMAGE_PIXELS`` before any pixel is decoded (a 50 kB PNG can declare 100,000 × 100,000 pixels);
  Pillow's own decompression-bomb guard is set to the same number.
- Packed files (.xlsx, a zip of XML): ``XLSX_LIMITS`` bounds the unpacked size in total and per member, the
  compression ratio, the number of members, rows and cells, and the shared strings; a DTD is refused.

These are technical bounds of memory and time, not business numbers.
"""

import io
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from django.core.exceptions import RequestDataTooBig, ValidationError
from django.core.files.uploadhandler import FileUploadHandler
from django.utils.translation import gettext as _

from .exceptions import ApplicationError

MB = 1024 * 1024
# A 48-megapixel phone photo passes; a decoded image of this size takes about 256 MB as RGBA.
MAX_IMAGE_PIXELS = 64_000_000


@dataclass(frozen=True, slots=True)
class UnpackLimits:
    """What a packed upload may become once unpacked. Read when used (tests replace it), never copied."""

    total_bytes: int = 300 * MB  # all members together, uncompressed
    member_bytes: int = 200 * MB  # one member (a 200,000-row sheet with inline strings is about 115 MB)
    ratio: int = 100  # uncompressed / compressed, for members larger than ratio_from_bytes
    ratio_from_bytes: int = 1 * MB  # small members (styles, a short sheet) may compress better
    members: int = 1000
    rows: int = 1_048_576  # Excel's own limit, blank rows included
    cells: int = 5_000_000  # rows × columns, the blank cells before a filled one included
    shared_strings: int = 1_000_000
    shared_chars: int = 32_000_000  # all shared strings together
    string_chars: int = 32_767  # one cell's text: Excel's own limit
    prolog_bytes: int = 64 * 1024  # an XML member's declaration, comments and PIs before its root element
    # openpyxl, the fallback for what the lean reader does not expect, holds more per cell: smaller files only.
    fallback_bytes: int = 64 * MB


XLSX_LIMITS = UnpackLimits()
# A CSV line (a contract is one line of a few hundred characters); with XLSX_LIMITS.rows lines at most.
CSV_LINE_CHARS = 100_000


class UploadRefused(ApplicationError):
    """The upload is larger, or unpacks or decodes to more, than the bounds above allow."""


def unpacked_too_large_message(limits: UnpackLimits) -> str:
    return _("The file is larger than %(size)d MB when unpacked; split it into smaller files.") % {
        "size": limits.total_bytes // MB
    }


# --- Size of an upload ----------------------------------------------------------------------------------


def request_upload_max_bytes() -> int:
    # Read when used, never at import: tests and deployments may change it.
    return int(settings.UPLOAD_MAX_REQUEST_BYTES)


class BoundedUploadHandler(FileUploadHandler):
    """First in FILE_UPLOAD_HANDLERS: a request whose upload exceeds the bound is refused (400) as it arrives.

    Django bounds the non-file part of a request (DATA_UPLOAD_MAX_MEMORY_SIZE) but streams any file to a
    temporary file whatever its size; this stops at the declared length, or at the bytes counted when the
    length lies.
    """

    def handle_raw_input(self, input_data, META, content_length, boundary, encoding=None):
        self.received = 0
        if content_length and content_length > request_upload_max_bytes():
            raise RequestDataTooBig("Upload exceeds UPLOAD_MAX_REQUEST_BYTES.")

    def receive_data_chunk(self, raw_data, start):
        self.received = getattr(self, "received", 0) + len(raw_data)
        if self.received > request_upload_max_bytes():
            raise RequestDataTooBig("Upload exceeds UPLOAD_MAX_REQUEST_BYTES.")
        return raw_data

    def file_complete(self, file_size):
        return None


def inbound_message_max_bytes() -> int:
    """The largest e-mail the intake reads (``INTAKE_MESSAGE_MAX_BYTES``); a larger one is quarantined unread."""
    return int(settings.INTAKE_MESSAGE_MAX_BYTES)


def too_large_message(limit: int) -> str:
    return _("The file is larger than %(mb)s MB.") % {"mb": f"{limit / MB:g}"}


def max_upload_bytes(limit: int):
    """A form field validator: the uploaded file is at most ``limit`` bytes."""

    def validate(upload):
        if upload is not None and (upload.size or 0) > limit:
            raise ValidationError(too_large_message(limit), code="file_too_large")

    return validate


# --- Names and types --------------------------------------------------------------------------------------


def checked_file_name(name: str, *, field: str = "file") -> str:
    """The uploader's file name, refused when it carries a path or is too long (it is shown, never used as one)."""
    name = name or ""
    if not name or any(ch in name for ch in ("/", "\\", "\x00")) or name in (".", "..") or ".." in name:
        raise UploadRefused(_("The file name must not contain a path."), field=field)
    if len(name) > 200:
        raise UploadRefused(_("The file name is too long."), field=field)
    return name


def sniffed_type(*, name: str, head: bytes, allowed: dict, refused: str, mismatch: str, field: str = "file"):
    """(extension, content type) when the name's extension is one of ``allowed`` (extension → (content type,
    magic byte prefixes)) and the file's first bytes agree with it; ``refused``/``mismatch`` say why not."""
    extension = Path(name).suffix.lower()
    known = allowed.get(extension)
    if known is None:
        raise UploadRefused(refused, field=field)
    content_type, signatures = known
    if not any(head.startswith(signature) for signature in signatures):
        raise UploadRefused(mismatch, field=field)
    return extension, content_type


def checked_upload_size(upload, *, limit: int, field: str = "file") -> None:
    if upload.size is None or upload.size > limit:
        raise UploadRefused(too_large_message(limit), field=field)


# --- Images ---------------------------------------------------------------------------------------------


def _pillow():
    from PIL import Image

    # Pillow warns above MAX_IMAGE_PIXELS and refuses above twice that; checked_image_size refuses above it.
    Image.MAX_IMAGE_PIXELS = MAX_IMAGE_PIXELS
    return Image


def checked_image_size(data, *, field: str = "file", max_pixels: int = MAX_IMAGE_PIXELS) -> tuple[str, int, int]:
    """(format, width, height) of an image read from its header only; refused when not an image or too many pixels.

    ``data`` is bytes or a binary file (read from its start, left at its start).
    """
    from PIL import UnidentifiedImageError

    Image = _pillow()
    stream = io.BytesIO(data) if isinstance(data, bytes | bytearray) else data
    stream.seek(0)
    try:
        with Image.open(stream) as image:
            width, height = image.size
            image_format = image.format
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError):
        raise UploadRefused(_("The file is not a picture that can be read."), field=field) from None
    except Image.DecompressionBombError:
        width = height = 0
    finally:
        stream.seek(0)
    if not width or not height or width * height > max_pixels:
        raise UploadRefused(
            _("The picture has too many pixels (at most %(million)d million).") % {"million": max_pixels // 1_000_000},
            field=field,
        )
    return image_format, width, height
