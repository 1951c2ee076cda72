from .models import ApiToken


def api_tokens_of(*, user, limit: int = 100) -> list[ApiToken]:
    """The user's own tokens, newest first (revoked and expired ones too, so the owner sees what happened)."""
    return list(ApiToken.objects.filter(user_id=user.pk).order_by("-created_at", "-id")[:limit])
