from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from collaboratory.health import healthz
from partners import views_account, views_people

admin.site.site_header = "Collaboratory administration"
admin.site.site_title = "Collaboratory admin"

urlpatterns = [
    path("healthz", healthz, name="healthz"),
    # Django's login page behind the login throttle (partners/login_throttle.py).
    path("login/", views_account.LoginView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    # Forgotten password: Django's views with our templates and mail (partners/views_people.py).
    path("password-reset/", views_people.PasswordResetView.as_view(), name="password_reset"),
    path(
        "password-reset/sent/",
        auth_views.PasswordResetDoneView.as_view(
            template_name="registration/password_reset_done.html"
        ),
        name="password_reset_done",
    ),
    path(
        "password-reset/<uidb64>/<token>/",
        views_people.PasswordResetConfirmView.as_view(),
        name="password_reset_confirm",
    ),
    path(
        "password-reset/complete/",
        auth_views.PasswordResetCompleteView.as_view(
            template_name="registration/password_reset_complete.html"
        ),
        name="password_reset_complete",
    ),
    path("account/", include("partners.urls_account")),  # two-factor authentication
    path("admin/", admin.site.urls),
    path("api/v1/", include("collaboratory.api_urls")),
    path("", include("agreements.urls")),
    path("", include("consent.urls")),
    path("", include("partners.urls")),
]

# 503 with Retry-After while the database is unreachable, the usual 500 page otherwise.
handler500 = "collaboratory.errors_http.server_error"
