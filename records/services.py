"""Saved views: save, make default, delete. Only the owner changes a view; the unit only applies shared ones."""

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from servicedesk.exceptions import ApplicationError

from .forms import clean_querystring
from .models import DefaultView, SavedView
from .selectors import saved_view_get_for_user


@transaction.atomic
def saved_view_save(*, user, page: str, name: str, querystring: str, shared: bool) -> SavedView:
    """Save the page's filters under a name; saving again under the same name replaces the filters."""
    if page not in SavedView.Page.values:
        raise ApplicationError(_("Unknown page."))
    try:
        cleaned = clean_querystring(page, querystring, user=user)
    except ValidationError as exc:
        raise ApplicationError(" ".join(exc.messages)) from None
    if shared and user.unit_id is None:
        raise ApplicationError(_("You have no unit to share the view with."), field="shared")
    view, _created = SavedView.objects.select_for_update().update_or_create(
        owner=user,
        page=page,
        name=name.strip(),
        defaults={"querystring": cleaned, "shared": shared, "unit_id": user.unit_id},
    )
    return view


@transaction.atomic
def saved_view_make_default(*, user, view_id: int) -> DefaultView:
    """The view the user's page opens with; one per user and page (the unique constraint keeps it so)."""
    view = saved_view_get_for_user(user=user, pk=view_id)
    default, _created = DefaultView.objects.update_or_create(user=user, page=view.page, defaults={"view": view})
    return default


@transaction.atomic
def saved_view_clear_default(*, user, page: str) -> None:
    DefaultView.objects.filter(user=user, page=page).delete()


@transaction.atomic
def saved_view_delete(*, user, view_id: int) -> str:
    view = saved_view_get_for_user(user=user, pk=view_id)
    if view.owner_id != user.pk:
        raise ApplicationError(_("Only the person who saved this view may delete it."))
    page = view.page
    view.delete()
    return page
