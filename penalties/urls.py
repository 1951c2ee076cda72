from django.urls import path

from .views import reports, rulings

app_name = "penalties"

urlpatterns = [
    path("", rulings.ruling_list, name="ruling_list"),
    path("cases/<int:case_pk>/open/", rulings.ruling_open, name="ruling_open"),
    path("<int:pk>/", rulings.ruling_detail, name="ruling_detail"),
    path("<int:pk>/shares/", rulings.ruling_shares, name="ruling_shares"),
    path("<int:pk>/propose/", rulings.ruling_propose, name="ruling_propose"),
    path("<int:pk>/reopen/", rulings.ruling_reopen, name="ruling_reopen"),
    path("<int:pk>/cancel/", rulings.ruling_cancel, name="ruling_cancel"),
    path("<int:pk>/approve/", rulings.ruling_approve, name="ruling_approve"),
    path("<int:pk>/correct/", rulings.ruling_correct, name="ruling_correct"),
    path("<int:pk>/lines/<int:line_pk>/adjust/", rulings.line_adjust, name="line_adjust"),
    path("<int:pk>/lines/<int:line_pk>/notice.pdf", rulings.line_notice, name="line_notice"),
    path("losses/<int:pk>/", reports.loss_detail, name="loss_detail"),
    path("losses/<int:pk>/proceeds/", reports.proceeds_record, name="proceeds_record"),
    path("ledger/", reports.ledger, name="ledger"),
    path("ledger/export/<str:fmt>/", reports.ledger_export, name="ledger_export"),
    path("audit/", reports.audit_list, name="audit_list"),
]
