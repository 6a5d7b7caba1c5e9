from django.apps import AppConfig


class PartnersConfig(AppConfig):
    name = "partners"
    verbose_name = "Partners and partnerships"

    def ready(self) -> None:
        # Webhooks: every agreement event fans out to the parties' subscribed endpoints.
        from agreements.events import EVENTS, subscribe
        from partners.webhooks import on_agreement_event

        for event in EVENTS:
            subscribe(event, on_agreement_event)
