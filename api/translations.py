"""Django REST framework's catalogue carries some of Django's own form messages in other words; installed with
the API, it would replace Django's on every page ("该字段是必填项" for "这个字段是必填项"). The project's
catalogue, read first, keeps Django's words for these; they are named here so that ``scripts/i18n`` keeps them."""

from django.utils.translation import gettext_noop

DJANGO_WORDS_KEPT = [
    gettext_noop("Enter a valid URL."),
    gettext_noop("Enter a valid email address."),
    gettext_noop("No file was submitted."),
    gettext_noop("The submitted file is empty."),
    gettext_noop("This field is required."),
    gettext_noop("Upload a valid image. The file you uploaded was either not an image or a corrupted image."),
    gettext_noop("Value must be valid JSON."),
]
