"""Changes to in-app notices and to the postal list (view → form → service)."""

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from servicedesk.exceptions import ApplicationError

from .inbox import inapp_notices
from .selectors import postal_pending

MAX_LETTERS_AT_ONCE = 500


@transaction.atomic
def notifications_mark_read(*, user, notification_id: int | None = None) -> int:
    """Mark one of the user's own in-app notices read, or all of them (``notification_id`` None)."""
    notices = inapp_notices(user=user).filter(read_at__isnull=True)
    if notification_id is not None:
        notices = notices.filter(pk=notification_id)
    return notices.order_by().update(read_at=timezone.now())


@transaction.atomic
def postal_items_mark_posted(*, user, item_ids: list[int]) -> int:
    """The clerk has printed and posted these letters of their unit's list; each is posted once."""
    if not user.has_perm("notify.post_letters"):
        raise ApplicationError(_("You are not allowed to do this."))
    if not item_ids:
        raise ApplicationError(_("Choose the letters that were posted."))
    if len(item_ids) > MAX_LETTERS_AT_ONCE:
        raise ApplicationError(_("Mark at most %(limit)s letters at once.") % {"limit": MAX_LETTERS_AT_ONCE})
    items = postal_pending(user=user).filter(pk__in=item_ids).select_for_update(of=("self",))
    ids = list(items.values_list("pk", flat=True))
    return postal_pending(user=user).filter(pk__in=ids).order_by().update(posted_at=timezone.now(), posted_by=user)
