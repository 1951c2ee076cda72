"""Authentication backend: Django's ModelBackend, loading the user's unit with the user."""

from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend


class UnitModelBackend(ModelBackend):
    """Every page scopes by the user's unit (and asks whether it is head office): one query, not two."""

    def get_user(self, user_id):
        try:
            user = get_user_model()._default_manager.select_related("unit").get(pk=user_id)
        except get_user_model().DoesNotExist:
            return None
        return user if self.user_can_authenticate(user) else None
