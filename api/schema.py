"""The OpenAPI description of a request from the page's own form: the form validates, the schema describes it.

The API validates every request with the same Django form as the page (the bounds come from one place), so
the request serializers here only tell drf-spectacular what those forms take; they never validate.
"""

from django import forms
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import serializers

from .rest import TokenAuthentication

_cache: dict = {}


def _field(field: forms.Field) -> serializers.Field:
    common = {"required": field.required, "help_text": str(field.label or "")}
    if isinstance(field, forms.ModelChoiceField):
        return serializers.IntegerField(**common)
    if isinstance(field, forms.BooleanField):
        return serializers.BooleanField(required=False, help_text=common["help_text"])
    if isinstance(field, forms.ChoiceField):
        return serializers.ChoiceField(choices=[c for c, _label in field.choices if c != ""], **common)
    if isinstance(field, forms.DateTimeField):
        return serializers.DateTimeField(**common)
    if isinstance(field, forms.DateField):
        return serializers.DateField(**common)
    if isinstance(field, forms.DecimalField):
        return serializers.DecimalField(
            max_digits=field.max_digits, decimal_places=field.decimal_places, coerce_to_string=True, **common
        )
    if isinstance(field, forms.IntegerField):
        return serializers.IntegerField(min_value=field.min_value, max_value=field.max_value, **common)
    if isinstance(field, forms.EmailField):
        return serializers.EmailField(**common)
    return serializers.CharField(max_length=field.max_length, allow_blank=not field.required, **common)


def form_serializer(form_class: type[forms.Form], name: str) -> type[serializers.Serializer]:
    """A serializer class naming the fields of ``form_class`` (one class per name, as the schema needs)."""
    if name not in _cache:
        fields = {key: _field(field) for key, field in form_class.base_fields.items()}
        _cache[name] = type(name, (serializers.Serializer,), fields)
    return _cache[name]


class TokenScheme(OpenApiAuthenticationExtension):
    target_class = TokenAuthentication
    name = "apiToken"

    def get_security_definition(self, auto_schema):
        return {"type": "http", "scheme": "bearer", "description": "Per-user API token (sdk_...)"}
