from django.urls import path

from . import views

app_name = "repairs"

urlpatterns = [
    path("", views.board, name="board"),
    path("new/", views.call_log, name="call_log"),
    path("customers/lookup/", views.customer_lookup, name="customer_lookup"),
    path("mine/", views.my_calls, name="my_calls"),
    path("<int:pk>/", views.call_detail, name="call_detail"),
    path("<int:pk>/<slug:action>/", views.call_action, name="call_action"),
]
