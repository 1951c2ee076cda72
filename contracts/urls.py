from django.urls import path

from .views import contracts, follow_ups, imports, planned

app_name = "contracts"

urlpatterns = [
    path("", contracts.contract_list, name="list"),
    path("new/", contracts.contract_new, name="new"),
    path("<int:pk>/", contracts.contract_detail, name="detail"),
    path("terms/<int:pk>/renew/", contracts.term_renew, name="term_renew"),
    path("notices/<int:pk>.pdf", contracts.notice_pdf, name="notice_pdf"),
    path("follow-ups/", follow_ups.follow_up_list, name="follow_ups"),
    path("follow-ups/<int:pk>/", follow_ups.follow_up_detail, name="follow_up"),
    path("follow-ups/<int:pk>/outcome/", follow_ups.follow_up_outcome, name="follow_up_outcome"),
    path("follow-ups/<int:pk>/assign/", follow_ups.follow_up_assign, name="follow_up_assign"),
    path("import/", imports.import_upload, name="import"),
    path("import/template.csv", imports.import_template, name="import_template"),
    path("import/<int:pk>/", imports.import_detail, name="import_detail"),
    path("import/<int:pk>/progress/", imports.import_progress, name="import_progress"),
    path("import/<int:pk>/valid-rows/", imports.import_valid_rows, name="import_valid_rows"),
    path("import/<int:pk>/restart/", imports.import_restart, name="import_restart"),
    # Planned maintenance visits (issue 14): the week's list and its PDF.
    path("planned/", planned.planned_week, name="planned_week"),
    path("planned/pdf/", planned.planned_week_pdf, name="planned_week_pdf"),
]
