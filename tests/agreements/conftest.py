import pytest


@pytest.fixture
def demo_agreements(demo):
    """The demo data including templates and agreements (seeded once per session)."""
    return demo
