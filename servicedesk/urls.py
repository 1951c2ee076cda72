from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_not_required
from django.urls import include, path
from django.views.i18n import set_language

from . import bulk_views, export_views, views

urlpatterns = [
    path("", views.home, name="home"),
    path("accounts/login/", auth_views.LoginView.as_view(redirect_authenticated_user=True), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    # The language switch is on the login page too, so it must work before logging in.
    path("i18n/setlang/", login_not_required(set_language), name="set_language"),
    path("calls/", include("repairs.urls")),
    path("contracts/", include("contracts.urls")),
    path("complaints/", include("complaints.urls")),
    path("penalties/", include("penalties.urls")),
    path("dashboard/", include("dashboard.urls")),
    path("parts/", include("parts.urls")),
    path("records/", include("records.urls")),
    path("mail/", include("intake.urls")),
    path("me/", include("notify.urls")),
    path("s/", include("complaints.public_urls")),
    path("api/", include("api.urls")),
    path("portal/", include("portal.urls")),
    path("admin/", admin.site.urls),
    path("healthz", views.healthz, name="healthz"),
    path("readyz", views.readyz, name="readyz"),
    path("exports/<slug:page>.<slug:fmt>", export_views.export, name="export"),
    path("exports/jobs/<int:pk>/", export_views.export_job, name="export_job"),
    path("exports/jobs/<int:pk>/progress/", export_views.export_job_progress, name="export_job_progress"),
    path("exports/jobs/<int:pk>/download/", export_views.export_job_download, name="export_job_download"),
    path("bulk/<slug:page>/<slug:action>/", bulk_views.bulk_run, name="bulk_run"),
]

handler400 = "servicedesk.views.bad_request"
