from django.apps import AppConfig


class ConsentConfig(AppConfig):
    name = "consent"

    def ready(self) -> None:
        self._plug_into_agreements()

    @staticmethod
    def _plug_into_agreements() -> None:
        # Agreements sits below consent and never imports it: consent adds its reasons to
        # the review blockers and its step to the "new agreement" wizard here.
        from agreements import extensions
        from consent.rules import consent_blockers
        from consent.wizard import STEP

        if consent_blockers not in extensions.review_blockers:
            extensions.review_blockers.append(consent_blockers)
        if STEP not in extensions.wizard_steps:
            extensions.wizard_steps.append(STEP)
        # Consent coverage is consent's panel on the director's dashboard.
        from consent.selectors import consent_dashboard_section

        if consent_dashboard_section not in extensions.dashboard_sections:
            extensions.dashboard_sections.append(consent_dashboard_section)
        # The agreement page's consent section reads the requirements in the page's query.
        from consent.selectors import REQUIREMENTS_PREFETCH

        if REQUIREMENTS_PREFETCH not in extensions.page_prefetches:
            extensions.page_prefetches.append(REQUIREMENTS_PREFETCH)
        # The student key settings page counts the keys a new format would not admit.
        from consent.student_keys import keys_not_matching
        from partners import hooks

        if keys_not_matching not in hooks.student_keys_not_matching:
            hooks.student_keys_not_matching.append(keys_not_matching)
