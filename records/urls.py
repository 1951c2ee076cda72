from django.urls import path

from . import views

app_name = "records"

urlpatterns = [
    path("calls/", views.calls, name="calls"),
    path("customers/<int:pk>/", views.customer, name="customer"),
    path("products/<path:serial>/", views.product, name="product"),
    path("views/save/", views.saved_view_save, name="saved_view_save"),
    path("views/default/", views.saved_view_default, name="saved_view_default"),
    path("views/delete/", views.saved_view_delete, name="saved_view_delete"),
]
