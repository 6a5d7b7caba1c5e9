from django.apps import AppConfig


class AgreementsConfig(AppConfig):
    name = "agreements"

    def ready(self) -> None:
        from agreements.documents import jobs as documents
        from agreements.events import subscribe

        # An agreement that becomes active gets its sealed, executed PDF (after commit).
        subscribe("agreement.status_changed", documents.on_status_changed)
