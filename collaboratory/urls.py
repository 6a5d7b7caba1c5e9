from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from collaboratory.health import healthz
from partners import views_account

admin.site.site_header = "Collaboratory administration"
admin.site.site_title = "Collaboratory admin"

urlpatterns = [
    path("healthz", healthz, name="healthz"),
    # Django's login page behind the login throttle (partners/login_throttle.py).
    path("login/", views_account.LoginView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("account/", include("partners.urls_account")),  # two-factor authentication
    path("admin/", admin.site.urls),
    path("api/v1/", include("collaboratory.api_urls")),
    path("", include("agreements.urls")),
    path("", include("consent.urls")),
    path("", include("partners.urls")),
]

# 503 with Retry-After while the database is unreachable, the usual 500 page otherwise.
handler500 = "collaboratory.errors_http.server_error"
