from django.urls import path

from . import views

app_name = "parts"

urlpatterns = [
    path("", views.stock, name="stock"),
    path("vans/<int:pk>/", views.van, name="van"),
    path("new/<slug:kind>/", views.movement_new, name="movement_new"),
    path("low/", views.low_stock, name="low_stock"),
    path("used/", views.used_report, name="used_report"),
    path("movements/<int:pk>/issue-note.pdf", views.issue_note_pdf, name="issue_note_pdf"),
]
