"""Demo research approvals (issue 20, item 6): the standard template requires the IRB's and
the district research office's approvals, and every active demo agreement has them, one
IRB approval about to expire (18 days left) on the adaptive practice study, where the
district exports consented rosters. Recorded through the real service; idempotent."""

from __future__ import annotations

import datetime as dt

from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone

from agreements.approvals.models import ApprovalKind, ResearchApproval
from agreements.approvals.services import (
    research_approval_record,
    template_research_approvals_set,
)
from agreements.models import Agreement, DSATemplate, Status
from partners.models import Collaboratory

#: Per trio: (kind, recorded by, approving body, number, approved days ago, expires in days).
APPROVALS: dict[str, list[tuple[str, str, str, str, int, int]]] = {
    "adaptive-practice": [
        (ApprovalKind.IRB, "researcher", "Northfield University IRB", "2025-123", 347, 18),
        (
            ApprovalKind.DISTRICT_RESEARCH_OFFICE,
            "director",
            "Riverbend USD Office of Research and Evaluation",
            "RUSD-RR-2025-031",
            330,
            200,
        ),
    ],
    "productive-struggle": [
        (ApprovalKind.IRB, "hillcrest", "Hillcrest State University IRB", "HSU-0412", 300, 250),
        (
            ApprovalKind.DISTRICT_RESEARCH_OFFICE,
            "director",
            "Riverbend USD Office of Research and Evaluation",
            "RUSD-RR-2025-019",
            290,
            75,
        ),
    ],
    "lakeshore-fluency": [
        (ApprovalKind.IRB, "hillcrest", "Hillcrest State University IRB", "HSU-0077", 70, 295),
        (
            ApprovalKind.DISTRICT_RESEARCH_OFFICE,
            "lakeshore",
            "Lakeshore County Public Schools Research Review Board",
            "LCPS-RRB-26-004",
            65,
            300,
        ),
    ],
}


def approval_letter_pdf(*lines: str) -> bytes:
    """A one-page PDF letter with ``lines`` of text (demo and tests: a real PDF file)."""
    text = "BT /F1 12 Tf 72 720 Td 16 TL " + " ".join(
        "(" + line.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)") + ") '"
        for line in lines
    )
    stream = text + " ET"
    objects = [
        "<< /Type /Catalog /Pages 2 0 R >>",
        "<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] "
        "/Resources << /Font << /F1 4 0 R >> >> /Contents 5 0 R >>",
        "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
        f"<< /Length {len(stream)} >>\nstream\n{stream}\nendstream",
    ]
    out = "%PDF-1.4\n"
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out.encode("latin-1")))
        out += f"{number} 0 obj\n{body}\nendobj\n"
    xref = len(out.encode("latin-1"))
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n"
    out += "".join(f"{offset:010d} 00000 n \n" for offset in offsets)
    out += f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n"
    return out.encode("latin-1")


@transaction.atomic
def seed_research_approvals(collaboratory: Collaboratory) -> None:
    if ResearchApproval.objects.filter(agreement__trio__collaboratory=collaboratory).exists():
        return
    template = DSATemplate.objects.filter(collaboratory=collaboratory, slug="standard-dsa").first()
    if template is None:
        return
    users = {u.username: u for u in get_user_model().objects.all()}
    template_research_approvals_set(
        template=template,
        kinds=[ApprovalKind.IRB, ApprovalKind.DISTRICT_RESEARCH_OFFICE],
        by=users.get("facilitator"),
    )
    today = timezone.localdate()
    active = Agreement.objects.filter(
        trio__collaboratory=collaboratory,
        status=Status.ACTIVE,
        template_version__template=template,
    ).select_related("trio")
    for agreement in active.order_by("created_at"):
        for kind, username, body, number, ago, left in APPROVALS.get(agreement.trio.slug, []):
            approved_on = today - dt.timedelta(days=ago)
            expires_on = today + dt.timedelta(days=left)
            research_approval_record(
                agreement=agreement,
                by=users[username],
                kind=kind,
                approving_body=body,
                number=number,
                approved_on=approved_on,
                expires_on=expires_on,
                document_name=f"{number}-approval.pdf",
                document=approval_letter_pdf(
                    body,
                    f"Approval {number}",
                    f"Study: {agreement.title}",
                    f"Approved {approved_on.isoformat()}, expires {expires_on.isoformat()}",
                ),
                today=today,
            )
