from django.urls import path

from .views import board, calls, carry_in, fees, quotes, visits, vouchers

app_name = "repairs"

urlpatterns = [
    path("", calls.board, name="board"),
    # The live board (issue 16): its push stream, dispatch from a row, the technicians' timeline.
    path("board/stream/", board.board_stream, name="board_stream"),
    path("board/<int:pk>/dispatch/", board.board_dispatch, name="board_dispatch"),
    path("technicians/timeline/", board.dispatch_timeline, name="dispatch_timeline"),
    path("new/", calls.call_log, name="call_log"),
    path("customers/lookup/", calls.customer_lookup, name="customer_lookup"),
    path("mine/", calls.my_calls, name="my_calls"),
    # Field service (issue 3): vouchers, fees, carry-in repair, the register, supervision.
    path("<int:pk>/voucher/new/", vouchers.voucher_create, name="voucher_create"),
    path("<int:pk>/carry-in/new/", carry_in.carry_in_open, name="carry_in_open"),
    path("vouchers/<int:pk>/", vouchers.voucher_detail, name="voucher_detail"),
    path("vouchers/<int:pk>/edit/", vouchers.voucher_edit, name="voucher_edit"),
    path("vouchers/<int:pk>/sign/", vouchers.voucher_sign, name="voucher_sign"),
    path("vouchers/<int:pk>/correct/", vouchers.voucher_correct, name="voucher_correct"),
    path("vouchers/<int:pk>/fee/", vouchers.voucher_fee, name="voucher_fee"),
    path("vouchers/<int:pk>/invoice/", vouchers.voucher_invoice, name="voucher_invoice"),
    path("vouchers/<int:pk>/pdf/", vouchers.voucher_pdf, name="voucher_pdf"),
    path("fees/", fees.reconciliation, name="fee_reconciliation"),
    path("fees/pdf/", fees.reconciliation_pdf, name="fee_reconciliation_pdf"),
    path("fees/<int:pk>/confirm/", fees.fee_confirm, name="fee_confirm"),
    path("vouchers/<int:pk>/write-off/", vouchers.voucher_write_off, name="voucher_write_off"),
    path("fees/<int:pk>/receipt.pdf", vouchers.fee_receipt_pdf, name="fee_receipt_pdf"),
    path("cards/", carry_in.card_list, name="card_list"),
    path("cards/<int:pk>/", carry_in.card_detail, name="card_detail"),
    path("cards/<int:pk>/pdf/", carry_in.card_pdf, name="card_pdf"),
    path("cards/<int:pk>/receipt/pdf/", carry_in.pickup_receipt_pdf, name="pickup_receipt_pdf"),
    path("cards/<int:pk>/do/<slug:action>/", carry_in.card_action, name="card_action"),
    # Charged carry-in repairs and parts on the bench (issue 14).
    path("cards/<int:pk>/quote/", quotes.quote, name="quote"),
    path("cards/<int:pk>/quote/sign/", quotes.quote_sign, name="quote_sign"),
    path("cards/<int:pk>/quote/pdf/", quotes.quote_pdf, name="quote_pdf"),
    path("cards/<int:pk>/quote/do/<slug:action>/", quotes.quote_action, name="quote_action"),
    path("register/", carry_in.register, name="register"),
    path("register/pdf/", carry_in.register_pdf, name="register_pdf"),
    path("register/<int:pk>/release/", carry_in.register_release, name="register_release"),
    path("supervision/", carry_in.supervision, name="supervision"),
    path("supervision/letters/<int:pk>/pdf/", carry_in.delay_letter_pdf, name="delay_letter_pdf"),
    path("supervision/letters/<int:pk>/sent/", carry_in.delay_letter_sent, name="delay_letter_sent"),
    # Visits (issue 14): the reason a customer could not sign, its photo, the supervisor's list.
    path("visits/unsigned/", visits.unsigned_visits, name="unsigned_visits"),
    path("visits/<int:pk>/no-signature/", visits.visit_no_signature, name="visit_no_signature"),
    path("visits/<int:pk>/photo/", visits.visit_photo, name="visit_photo"),
    path("<int:pk>/", calls.call_detail, name="call_detail"),
    path("<int:pk>/<slug:action>/", calls.call_action, name="call_action"),
]
