"""The one helper that sends e-mail: subject, a text part and an HTML part."""

from __future__ import annotations

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.utils.html import escape, linebreaks


def send_mail_message(*, subject: str, text: str, to: list[str], html: str | None = None) -> None:
    message = EmailMultiAlternatives(
        subject=subject.replace("\n", " "), body=text, from_email=settings.DEFAULT_FROM_EMAIL, to=to
    )
    # The HTML part is the text part, escaped: user text never becomes markup.
    message.attach_alternative(html or linebreaks(escape(text)), "text/html")
    message.send()
