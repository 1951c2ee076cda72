from django.contrib.auth.decorators import login_required
from django.urls import path

from . import pages, views

app_name = "api"

urlpatterns = [
    path("tokens/", pages.tokens, name="tokens"),
    path("tokens/revoke/", pages.token_revoke, name="token_revoke"),
    path("v1/schema/", pages.signed_in_or_token(pages.SchemaView.as_view()), name="schema"),
    path("v1/docs/", login_required(pages.DocsView.as_view()), name="docs"),
    path("v1/calls/", views.CallListView.as_view(), name="calls"),
    path("v1/calls/<int:pk>/", views.CallDetailView.as_view(), name="call"),
    path("v1/calls/<int:pk>/dispatch/", views.call_action_views["dispatch"], name="call_dispatch"),
    path("v1/calls/<int:pk>/arrive/", views.call_action_views["arrive"], name="call_arrive"),
    path("v1/calls/<int:pk>/enter-arrival/", views.call_action_views["enter_arrival"], name="call_enter_arrival"),
    path("v1/calls/<int:pk>/resolve/", views.call_action_views["resolve"], name="call_resolve"),
    path("v1/customers/", views.CustomerListView.as_view(), name="customers"),
    path("v1/customers/<int:pk>/", views.CustomerDetailView.as_view(), name="customer"),
    path("v1/products/", views.ProductListView.as_view(), name="products"),
    path("v1/contracts/", views.ContractListView.as_view(), name="contracts"),
    path("v1/contracts/<int:pk>/", views.ContractDetailView.as_view(), name="contract"),
    path("v1/opinions/", views.OpinionListView.as_view(), name="opinions"),
    path("v1/opinions/<int:pk>/", views.OpinionDetailView.as_view(), name="opinion"),
]
