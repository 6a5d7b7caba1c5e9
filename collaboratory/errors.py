"""The one exception type for broken domain rules.

Services raise ``DomainError``; views turn it into a form error or flash message and the API
into its error body. It is a ``ValidationError`` so Django forms and ``full_clean`` callers
handle it the same way as field validation.
"""

from django.core.exceptions import ValidationError


class DomainError(ValidationError):
    """A request that breaks a domain rule; the message says what to fix."""
