"""Photos and scans kept with a case: type checked by content and name, size limited, stored privately.

Files live under MEDIA_ROOT/private/complaints/, which the web server never serves; the only
way out is the download view, which checks the user may see the case.
"""

import uuid
from pathlib import Path

from django.conf import settings
from django.db import transaction
from django.utils.translation import gettext as _

from servicedesk.exceptions import ApplicationError
from servicedesk.uploads import checked_file_name, checked_image_size, checked_upload_size, sniffed_type
from servicedesk.workflow import lock_for_update

from ..models import CaseAttachment, ComplaintCase
from .cases import case_visible_to

DEFAULT_MAX_BYTES = 10 * 1024 * 1024
PRIVATE_DIR = Path("private") / "complaints"

# Extension → (content type, magic bytes at the start of the file).
ALLOWED_TYPES = {
    ".jpg": ("image/jpeg", (b"\xff\xd8\xff",)),
    ".jpeg": ("image/jpeg", (b"\xff\xd8\xff",)),
    ".png": ("image/png", (b"\x89PNG\r\n\x1a\n",)),
    ".pdf": ("application/pdf", (b"%PDF-",)),
}


def max_attachment_bytes() -> int:
    # Read when used, never at import: tests and deployments may change it.
    return int(getattr(settings, "COMPLAINT_ATTACHMENT_MAX_BYTES", DEFAULT_MAX_BYTES))


def private_root() -> Path:
    return Path(settings.MEDIA_ROOT) / PRIVATE_DIR


def attachment_path(attachment: CaseAttachment) -> Path:
    # stored_name is ours (a uuid and a known extension), never the uploader's.
    return private_root() / attachment.stored_name


def sniff_type(*, name: str, head: bytes) -> tuple[str, str]:
    """(extension, content type) when the name's extension and the file's first bytes agree; else refused."""
    return sniffed_type(
        name=name,
        head=head,
        allowed=ALLOWED_TYPES,
        refused=_("Only JPEG, PNG and PDF files can be attached."),
        mismatch=_("The file's content is not what its name says (JPEG, PNG or PDF)."),
    )


@transaction.atomic
def case_attachment_add(*, user, case_id: int, upload, description: str = "") -> CaseAttachment:
    case = lock_for_update(ComplaintCase.objects.all(), pk=case_id)
    if not user.has_perm("complaints.work_case") or not case_visible_to(user=user, case=case):
        raise ApplicationError(_("You are not allowed to do this."))
    if upload is None:
        raise ApplicationError(_("Choose a file."), field="file")
    original_name = checked_file_name(getattr(upload, "name", ""))
    limit = max_attachment_bytes()
    checked_upload_size(upload, limit=limit)
    upload.seek(0)
    head = upload.read(16)
    extension, content_type = sniff_type(name=original_name, head=head)
    if content_type.startswith("image/"):
        # A photo's pixels are bounded from its header, before anything decodes it (a PNG bomb is 50 kB).
        checked_image_size(upload, field="file")
    stored_name = f"{uuid.uuid4().hex}{extension}"
    target = private_root() / stored_name
    target.parent.mkdir(parents=True, exist_ok=True)
    written = 0
    upload.seek(0)
    try:
        with open(target, "xb") as out:
            for chunk in upload.chunks():
                written += len(chunk)
                if written > limit:
                    raise ApplicationError(
                        _("The file is larger than %(mb)s MB.") % {"mb": round(limit / 1024 / 1024, 1)}, field="file"
                    )
                out.write(chunk)
        attachment = CaseAttachment.objects.create(
            case=case,
            stored_name=stored_name,
            original_name=original_name,
            content_type=content_type,
            size=written,
            stage=case.status,
            description=(description or "").strip()[:200],
            uploaded_by=user,
        )
    except BaseException:
        target.unlink(missing_ok=True)
        raise
    # The row is written last, so a refused upload leaves no file. (Django has no on-rollback hook: a
    # later failure in the same request can leave an unreferenced file, never a reference without one.)
    return attachment
