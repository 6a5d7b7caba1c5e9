"""Account pages (partners/views_account.py), under /account/."""

from django.urls import path

from partners import views_account

urlpatterns = [
    path("2fa/", views_account.two_factor_settings, name="two-factor"),
    path("2fa/verify/", views_account.two_factor_verify, name="two-factor-verify"),
    path("2fa/email-code/", views_account.two_factor_email_code, name="two-factor-email-code"),
    path(
        "2fa/email-code/confirm/",
        views_account.two_factor_email_code_confirm,
        name="two-factor-email-code-confirm",
    ),
    path("2fa/remove/", views_account.two_factor_remove, name="two-factor-remove"),
    path(
        "2fa/backup-codes/",
        views_account.two_factor_backup_codes,
        name="two-factor-backup-codes",
    ),
]
