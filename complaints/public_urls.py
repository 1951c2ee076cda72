"""The short private links printed on survey cards: /s/<card>/<token>/ (no login)."""

from django.urls import path

from .views import public

app_name = "survey_public"

urlpatterns = [
    path("<int:card_id>/<str:token>/", public.answer, name="answer"),
]
