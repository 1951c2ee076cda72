from django.urls import path

from . import views

app_name = "intake"

urlpatterns = [
    path("", views.queue, name="queue"),
    path("quarantine/", views.quarantine, name="quarantine"),
    path("<int:pk>/", views.message_detail, name="message"),
    path("<int:pk>/match/", views.message_match, name="match"),
    path("attachments/<int:pk>/", views.attachment_download, name="attachment"),
]
