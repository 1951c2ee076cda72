from django.urls import path

from .views import calls

app_name = "repairs"

urlpatterns = [
    path("", calls.board, name="board"),
    path("new/", calls.call_log, name="call_log"),
    path("customers/lookup/", calls.customer_lookup, name="customer_lookup"),
    path("mine/", calls.my_calls, name="my_calls"),
    path("<int:pk>/", calls.call_detail, name="call_detail"),
    path("<int:pk>/<slug:action>/", calls.call_action, name="call_action"),
]
