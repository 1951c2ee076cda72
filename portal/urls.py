from django.urls import path

from .views import pages, signin

app_name = "portal"

urlpatterns = [
    path("sign-in/", signin.sign_in, name="sign_in"),
    path("sign-in/code/", signin.sign_in_code, name="sign_in_code"),
    path("sign-in/link/<str:token>/", signin.sign_in_link, name="sign_in_link"),
    path("sign-out/", signin.sign_out, name="sign_out"),
    path("", pages.home, name="home"),
    path("equipment/", pages.equipment, name="equipment"),
    path("calls/", pages.calls, name="calls"),
    path("calls/new/", pages.call_new, name="call_new"),
    path("calls/<int:pk>/", pages.call_detail, name="call_detail"),
    path("vouchers/<int:pk>.pdf", pages.voucher_pdf, name="voucher_pdf"),
    path("receipts/<int:pk>.pdf", pages.fee_receipt_pdf, name="fee_receipt_pdf"),
    path("pickup-receipts/<int:pk>.pdf", pages.pickup_receipt_pdf, name="pickup_receipt_pdf"),
    path("contracts/", pages.contracts, name="contracts"),
    path("notices/<int:pk>.pdf", pages.notice_pdf, name="notice_pdf"),
    path("surveys/", pages.surveys, name="surveys"),
    path("opinions/", pages.opinions, name="opinions"),
]
