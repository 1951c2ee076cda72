from django.urls import path

from .views import appraisal, case_records, cases, gm_office, opinion_handling, opinions, surveys

app_name = "complaints"

urlpatterns = [
    path("surveys/batches/", surveys.batch_list, name="batch_list"),
    path("surveys/batches/<int:pk>/cards.pdf", surveys.batch_pdf, name="batch_pdf"),
    path("surveys/entry/", surveys.paper_entry, name="paper_entry"),
    path("opinions/", opinions.opinion_list, name="opinion_list"),
    path("opinions/inbox/", opinion_handling.opinion_inbox, name="opinion_inbox"),
    path("opinions/new/", opinion_handling.opinion_record, name="opinion_record"),
    path("opinions/<int:pk>/", opinion_handling.opinion_detail, name="opinion_detail"),
    path("opinions/<int:pk>/letter.pdf", opinion_handling.opinion_letter, name="opinion_letter"),
    path("opinions/<int:pk>/acknowledge/", opinions.opinion_acknowledge, name="opinion_acknowledge"),
    path("opinions/<int:pk>/<slug:action>/", opinion_handling.opinion_action, name="opinion_action"),
    path("cases/", cases.case_list, name="case_list"),
    path("cases/inbox/", cases.case_inbox, name="case_inbox"),
    path("cases/new/", cases.case_open, name="case_open"),
    path("cases/<int:pk>/", cases.case_detail, name="case_detail"),
    path("cases/<int:pk>/form.pdf", cases.case_pdf, name="case_pdf"),
    path("cases/<int:pk>/to/<slug:to_status>/", cases.case_transition, name="case_transition"),
    path("cases/<int:pk>/follow-up/", cases.case_follow_up, name="case_follow_up"),
    path("cases/<int:pk>/attachments/", cases.attachment_upload, name="attachment_upload"),
    path("cases/<int:pk>/returns/", case_records.return_add, name="return_add"),
    path("cases/<int:pk>/costs/", case_records.cost_add, name="cost_add"),
    path("cases/<int:pk>/actions/", case_records.action_add, name="action_add"),
    path("attachments/<int:pk>/", cases.attachment_download, name="attachment_download"),
    path("returns/<int:pk>/check/", case_records.return_check, name="return_check"),
    path("returns/<int:pk>/resolve/", case_records.return_resolve, name="return_resolve"),
    path("returns/<int:pk>/post/", case_records.return_post, name="return_post"),
    path("actions/<int:pk>/<slug:step>/", case_records.action_step, name="action_step"),
    path("gm-office/", gm_office.gm_office, name="gm_office"),
    path("reminders/<int:pk>/slip.pdf", gm_office.reminder_slip_print, name="reminder_slip_pdf"),
    path("receivables/", gm_office.receivables, name="receivables"),
    path("reports/", gm_office.reports, name="case_reports"),
    path("reports/export.<str:fmt>", gm_office.reports_export, name="case_reports_export"),
    path("appraisal/", appraisal.appraisal_page, name="appraisal"),
    path("appraisal/export.<str:fmt>", appraisal.appraisal_export, name="appraisal_export"),
]
