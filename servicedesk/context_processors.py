"""Template context shared by every page."""

import hashlib

from django.utils.functional import SimpleLazyObject


def navigation(request):
    """``nav_key``: what the main menu depends on, so the rendered menu can be cached and reused.

    The menu shows a link per permission, so the key is a digest of the user's permissions
    (and staff flag): a user given or refused a permission gets a different key at once, and
    users of the same role share one rendered menu. Evaluated only if a template asks.
    """

    def key():
        user = getattr(request, "user", None)
        if user is None or not user.is_authenticated:
            return "anonymous"
        perms = ",".join(sorted(user.get_all_permissions()))
        return hashlib.sha256(f"{user.is_staff}|{perms}".encode()).hexdigest()[:32]

    return {"nav_key": SimpleLazyObject(key)}
