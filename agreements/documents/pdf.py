"""The one module that turns an agreement into PDF bytes.

The HTML comes from one fixed template (``templates/agreements/pdf/agreement.html``). The
agreement's text reaches it as the structured document's safe HTML
(:class:`agreements.text.document.html.HtmlRenderer`: fixed tags around escaped text, styled by
``static/css/document.css``); every other user-written value as a plain string that the
template engine escapes. Nothing is ever template source. WeasyPrint then lays it out with
``StaticOnlyURLFetcher``, which serves ``data:`` URLs and files under the project's own
``static/`` folder and refuses everything else (network, ``file:///etc/...``, redirects), and
a refused fetch stops the render instead of becoming a log line.
"""

from __future__ import annotations

import datetime as dt
import mimetypes
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit
from urllib.request import url2pathname

from django.conf import settings
from django.template.loader import render_to_string
from django.utils import timezone
from weasyprint import HTML
from weasyprint.urls import FatalURLFetchingError, URLFetcher, URLFetcherResponse

from agreements.models import Agreement, DocumentKind, Status
from agreements.selectors import parties
from agreements.signing.selectors import authentication_text
from agreements.term_sheet import key_terms
from agreements.terms import destruction_deadline
from agreements.text.consolidation import SCHEDULE_KEY, ConsolidatedText
from agreements.text.document.html import HtmlRenderer
from agreements.text.document.model import PartKind

TEMPLATE = "agreements/pdf/agreement.html"
HANGING_LABEL = 4  # characters of a section label that fit the 9 mm hanging indent


class RenderError(Exception):
    """The document could not be rendered (a refused resource, a broken template)."""


class URLRefused(ValueError):  # noqa: N818 (WeasyPrint expects a ValueError-like refusal)
    """A resource outside ``data:`` and our static files was requested."""


def asset_root() -> Path:
    """The folder whose files PDFs may use (fonts): the project's own ``static/``."""
    return Path(settings.BASE_DIR, "static").resolve()


class StaticOnlyURLFetcher(URLFetcher):
    """Serves ``data:`` URLs and files under ``root``; refuses everything else.

    No network at all (not even loopback), no ``file:`` outside ``root`` (symlinks and
    ``..`` are resolved first), no redirects; with ``fail_on_errors`` a refusal aborts the
    render (WeasyPrint raises ``FatalURLFetchingError``).
    """

    def __init__(self, root: Path | None = None) -> None:
        super().__init__(
            timeout=1,
            allowed_protocols={"data", "file"},
            allow_redirects=False,
            fail_on_errors=True,
        )
        self.root = (root or asset_root()).resolve()

    def fetch(self, url: str, headers=None) -> URLFetcherResponse:
        scheme = url.split(":", 1)[0].lower() if ":" in url else ""
        if scheme == "data":
            return super().fetch(url, headers)
        if scheme == "file":
            parts = urlsplit(url)
            if parts.netloc not in ("", "localhost"):
                raise URLRefused(f"refused {url!r}: remote file URL")
            path = Path(url2pathname(parts.path)).resolve()
            if not path.is_relative_to(self.root) or not path.is_file():
                raise URLRefused(f"refused {url!r}: only the project's static files are allowed")
            content_type = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
            return URLFetcherResponse(
                path.as_uri(), body=path.read_bytes(), headers={"Content-Type": content_type}
            )
        raise URLRefused(f"refused {url!r}: only data: URLs and static files are allowed")


@dataclass(frozen=True)
class Rendered:
    pdf: bytes
    pages: int


def _utc(moment: dt.datetime | None) -> dt.datetime | None:
    return moment.astimezone(dt.UTC) if moment else None


def _moment(value: object) -> dt.datetime:
    """A sort key for the certificate's rows: their time, the earliest for none."""
    return value if isinstance(value, dt.datetime) else dt.datetime.min.replace(tzinfo=dt.UTC)


def schedule_name(text: ConsolidatedText) -> str:
    """How the text refers to its data-element schedule: "ATTACHMENT C (Data Elements)"."""
    clause = next((c for c in text.clauses if c.part and c.part.generated == SCHEDULE_KEY), None)
    if clause is None:
        return ""
    label = clause.number.rstrip(":.").strip()
    if label and clause.heading:
        return f"{label} ({clause.heading})"
    return label or clause.heading


def outline(text: ConsolidatedText) -> str:
    """How the text is made up, for the cover: "12 sections, 3 attachments"."""
    counts = {kind: 0 for kind in (PartKind.SECTION, PartKind.ATTACHMENT)}
    for part in text.document.parts:
        if part.kind in counts:
            counts[part.kind] += 1
    words = {PartKind.SECTION: "section", PartKind.ATTACHMENT: "attachment"}
    return ", ".join(
        f"{count} {words[kind]}{'' if count == 1 else 's'}"
        for kind, count in counts.items()
        if count
    )


def document_context(
    agreement: Agreement, text: ConsolidatedText, kind: str, *, generated_at: dt.datetime
) -> dict:
    """Everything the PDF template shows, as plain values (use with_agreement_detail rows)."""
    members = parties(agreement)
    signatures = {s.organisation_id: s for s in agreement.signatures.all()}
    executed = kind == DocumentKind.EXECUTED
    executed_on = next(
        (t.at for t in reversed(agreement.transitions.all()) if t.to_status == Status.ACTIVE),
        None,
    )
    audit = [
        {
            "event": "Approval" if a.voided_at is None else "Approval (voided)",
            "person": a.user.get_full_name() or a.user.get_username(),
            "email": a.user.email,
            "organisation": a.organisation.name,
            "at": _utc(a.created_at),
            "ip": a.ip_address or "not recorded",
            "user_agent": a.user_agent or "not recorded",
            "text_hash": a.text_hash,
            "note": a.voided_reason if a.voided_at else "",
            "title": "",
            "authentication": "",
        }
        for a in agreement.approvals.all()
    ] + [
        {
            "event": "Signature",
            "person": s.typed_name,
            "email": s.user.email,
            "organisation": s.organisation.name,
            "at": _utc(s.signed_at),
            "ip": s.ip_address or "not recorded",
            "user_agent": s.user_agent or "not recorded",
            "text_hash": s.text_hash,
            "note": s.intent_statement,
            "title": s.signer_title,
            "authentication": authentication_text(s),
        }
        for s in agreement.signatures.all()
    ]
    audit.sort(key=lambda row: _moment(row["at"]))
    renderer = HtmlRenderer(text.document)
    return {
        "agreement": agreement,
        "kind": kind,
        "executed": executed,
        "text": text,
        # Computed once: every access to ``text.sha256`` serialises the whole text again.
        "text_sha256": text.sha256,
        "document_title": renderer.title(),
        "clauses": [
            {
                "clause": clause,
                "html": renderer.part(clause.part),
                # A label as short as "A." or "12." hangs in the margin of the text.
                "hanging": 0 < len(clause.number) <= HANGING_LABEL,
                "schedule": clause.part.generated == SCHEDULE_KEY,
            }
            for clause in text.clauses
            if clause.part is not None
        ],
        "outline": outline(text),
        "schedule_name": schedule_name(text),
        "parties": [
            {"member": member, "signature": signatures.get(member.organisation_id)}
            for member in members
        ],
        "research_questions": list(agreement.research_questions.all()),
        "destruction_deadline": destruction_deadline(agreement),
        "key_terms": key_terms(agreement),
        "audit": audit,
        "executed_on": _utc(executed_on),
        "generated_at": _utc(generated_at),
        "site_url": settings.SITE_URL,
    }


def html_for(
    agreement: Agreement, text: ConsolidatedText, kind: str, *, generated_at: dt.datetime
) -> str:
    """The document's HTML: the fixed template filled with escaped values. Times are UTC
    whatever the site's time zone."""
    with timezone.override(dt.UTC):
        return render_to_string(
            TEMPLATE, document_context(agreement, text, kind, generated_at=generated_at)
        )


def base_url() -> str:
    """Relative URLs in the template (fonts) resolve inside ``static/``."""
    return asset_root().as_uri() + "/"


def render_html(html: str) -> Rendered:
    """Lay out ``html`` with the static-only fetcher; a refused resource raises RenderError."""
    try:
        document = HTML(
            string=html, base_url=base_url(), url_fetcher=StaticOnlyURLFetcher()
        ).render()
        pages = len(document.pages)
        return Rendered(pdf=document.write_pdf(), pages=pages)
    except FatalURLFetchingError as error:  # a BaseException: turn it into an ordinary error
        cause = error.__cause__ or error
        raise RenderError(f"The document asked for a forbidden resource: {cause}") from error


def render_agreement(
    agreement: Agreement, text: ConsolidatedText, kind: str, *, generated_at: dt.datetime
) -> Rendered:
    """The agreement as an unsealed PDF (sealing is ``agreements.sealing``' job)."""
    return render_html(html_for(agreement, text, kind, generated_at=generated_at))


@contextmanager
def memory_limit(extra_mb: int) -> Iterator[None]:
    """Cap the address space this process may grow by ``extra_mb`` MiB while rendering.

    A runaway layout then fails with MemoryError inside the render (recorded on the job)
    instead of pushing the machine into the OOM killer. 0 disables the cap. The previous
    limit is restored afterwards, so a prefork worker child keeps working normally.
    """
    if extra_mb <= 0:
        yield
        return
    import resource

    soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    current = _address_space_bytes()
    if not current:  # no /proc: better no cap than a wrong one
        yield
        return
    cap = current + extra_mb * 1024 * 1024
    if hard != resource.RLIM_INFINITY:
        cap = min(cap, hard)
    resource.setrlimit(resource.RLIMIT_AS, (cap, hard))
    try:
        yield
    finally:
        resource.setrlimit(resource.RLIMIT_AS, (soft, hard))


def _address_space_bytes() -> int:
    """This process's current virtual size (VmSize), from /proc."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmSize:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0
