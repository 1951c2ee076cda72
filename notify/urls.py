from django.urls import path

from . import views

app_name = "notify"

urlpatterns = [
    path("", views.inbox, name="inbox"),
    path("badges/", views.badges, name="badges"),
    path("notifications/", views.notifications, name="notifications"),
    path("postal/", views.postal_list, name="postal_list"),
    path("postal/list.pdf", views.postal_pdf, name="postal_pdf"),
    path("postal/posted/", views.postal_posted, name="postal_posted"),
]
