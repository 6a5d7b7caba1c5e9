import pytest

from agreements.models import Agreement
from agreements.negotiation.proposals import override_propose, override_respond
from agreements.review.services import agreement_reopen
from agreements.selectors import with_agreement_detail

IN_REVIEW = "Adaptive Practice Outcomes Study 2026-2028"


@pytest.fixture
def demo_agreements(demo):
    """The demo data including templates and agreements (seeded once per session)."""
    return demo


def _fresh(agreement: Agreement) -> Agreement:
    return with_agreement_detail(Agreement.objects.all()).get(pk=agreement.pk)


@pytest.fixture
def deviating(demo) -> Agreement:
    """The in-review agreement reopened, with one accepted change to "term" (negotiating)."""
    agreement = _fresh(demo["agreements"][IN_REVIEW])
    users = demo["users"]
    agreement_reopen(agreement=agreement, by=users["director"], reason="One change.")
    override = override_propose(
        agreement=_fresh(agreement),
        by=users["counsel"],
        kind="replace",
        clause_key="term",
        body="This Agreement takes effect on the effective date and ends on [[expires_on]].",
        rationale="Simpler.",
    )
    override_respond(override=override, by=users["vendor"], decision="accept")
    override_respond(override=override, by=users["director"], decision="accept")
    return _fresh(agreement)
