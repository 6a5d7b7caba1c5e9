from django.apps import AppConfig


class AgreementsConfig(AppConfig):
    name = "agreements"

    def ready(self) -> None:
        from agreements import partner_hooks
        from agreements.documents import jobs as documents
        from agreements.events import EVENTS, subscribe
        from agreements.extensions import dashboard_sections
        from partners import hooks as partners_hooks

        # Webhooks: every agreement event fans out to the parties' subscribed endpoints.
        for event in EVENTS:
            subscribe(event, partner_hooks.on_agreement_event)
        # An agreement that becomes active gets its sealed, executed PDF (after commit).
        subscribe("agreement.status_changed", documents.on_status_changed)
        # An agreement that becomes active opens its destruction duties (after commit).
        from agreements.destruction import selectors as destruction_selectors
        from agreements.destruction import services as destruction

        subscribe("agreement.status_changed", destruction.on_status_changed)
        if destruction_selectors.dashboard_section not in dashboard_sections:
            dashboard_sections.append(destruction_selectors.dashboard_section)
        # A signed agreement's parties cannot change (partners' trio_set_members asks).
        guards = partners_hooks.trio_member_change_guards
        if partner_hooks.refuse_if_parties_signed not in guards:
            guards.append(partner_hooks.refuse_if_parties_signed)
        # Research approvals missing, expired or expiring: a dashboard panel.
        from agreements import extensions
        from agreements.approvals.dashboard import approvals_dashboard_section

        if approvals_dashboard_section not in extensions.dashboard_sections:
            extensions.dashboard_sections.append(approvals_dashboard_section)
