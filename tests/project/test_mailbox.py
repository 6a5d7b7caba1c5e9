"""The test SMTP server receives what Django sends over the real protocol."""

from django.core.mail import send_mail


def test_mail_goes_over_smtp_and_its_links_can_be_followed(mailbox):
    send_mail(
        "You are invited",
        "Open https://collab.example/accounts/invitation/abc/ to join.\nThanks",
        None,
        ["ada@example.org"],
    )
    message = mailbox.wait_for(to="ada@example.org", subject="invited")
    assert message["X-Envelope-To"] == "ada@example.org"
    assert (
        mailbox.link(message, "/invitation/") == "https://collab.example/accounts/invitation/abc/"
    )
    assert mailbox.sent_to("someone@example.org") == []
