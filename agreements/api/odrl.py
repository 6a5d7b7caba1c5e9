"""What an agreement permits, as a W3C ODRL 2.2 policy in JSON-LD (the API's ``/terms``).

One plain function over an agreement loaded with
``agreements.api.selectors.agreement_terms_for_organisation``:

- the policy is an ``Agreement`` with the agreement's URN as ``uid``;
- per data element: the recipient (assignee) may ``use`` it, the source (assigner) may
  ``distribute`` it to the recipient, both only for the agreement's purpose and between
  its effective date and its end (``dateTime`` constraints): its expiry, or the day a notice
  of termination takes effect (``agreements.terms.end_date``);
- prohibitions for every recipient: re-identification, sale, commercialisation, targeted
  advertising, and passing data to anyone who is not a party;
- obligations: delete each element by the destruction deadline (``agreements.terms``), and
  inform the source within ``breach_notice_hours`` of a breach;
- research approvals (``agreements.approvals.rules``): while the approvals the template
  requires are not current the policy has no permission at all (no data may flow); while they
  are, each permission also ends on the last day they hold (``dateTime`` ``lteq``), and
  ``researchApprovals`` says which are required, whether current, until when.

Identifiers: organisations ``urn:collaboratory:organisation:<slug>``, data elements
``urn:collaboratory:agreement:<id>:data-element:<id>``. Actions outside the ODRL common
vocabulary (re-identification, targeted advertising) use ``urn:collaboratory:action:...``.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.utils import timezone

from agreements.approvals.api import odrl_research_approvals
from agreements.models import Agreement, DataElement, Identifiability
from agreements.selectors import parties
from agreements.terms import destruction_deadline, end_date
from partners.models import Organisation

ODRL_CONTEXT = "http://www.w3.org/ns/odrl.jsonld"
REIDENTIFY = "urn:collaboratory:action:reidentify"
TARGETED_ADVERTISING = "urn:collaboratory:action:targetedAdvertising"
BREACH_EVENT = "urn:collaboratory:event:data-breach"


def organisation_uid(organisation: Organisation) -> str:
    return f"urn:collaboratory:organisation:{organisation.slug}"


def party(organisation: Organisation) -> dict[str, Any]:
    return {"@type": "Party", "uid": organisation_uid(organisation), "name": organisation.name}


def _date(value: dt.date) -> dict[str, str]:
    return {"@value": value.isoformat(), "@type": "xsd:date"}


def _validity(agreement: Agreement) -> list[dict[str, Any]]:
    return [
        {
            "leftOperand": "dateTime",
            "operator": "gteq",
            "rightOperand": _date(agreement.start_date),
        },
        # The actual end: the expiry, or the day a termination takes effect.
        {"leftOperand": "dateTime", "operator": "lt", "rightOperand": _date(end_date(agreement))},
    ]


def _purpose(agreement: Agreement) -> dict[str, Any]:
    return {"leftOperand": "purpose", "operator": "eq", "rightOperand": agreement.purpose}


def element_uid(agreement: Agreement, element: DataElement) -> str:
    return f"urn:collaboratory:agreement:{agreement.pk}:data-element:{element.pk}"


def _asset(agreement: Agreement, element: DataElement) -> dict[str, Any]:
    return {
        "@type": "Asset",
        "uid": element_uid(agreement, element),
        "title": element.name,
        "identifiability": element.identifiability,
    }


def agreement_policy(agreement: Agreement, *, today: dt.date | None = None) -> dict[str, Any]:
    """The agreement's terms as an ODRL Agreement policy (a JSON-LD document)."""
    today = today or timezone.localdate()
    members = parties(agreement)
    organisations = {m.organisation_id: m.organisation for m in members}
    permissions: list[dict[str, Any]] = []
    prohibitions: list[dict[str, Any]] = []
    obligations: list[dict[str, Any]] = []
    deadline = destruction_deadline(agreement)
    for element in agreement.data_elements.all():
        source = organisations.get(element.source_id, element.source)
        recipient = organisations.get(element.recipient_id, element.recipient)
        asset = _asset(agreement, element)
        permissions.append(
            {
                "uid": f"{asset['uid']}:use",
                "target": asset,
                "assigner": party(source),
                "assignee": party(recipient),
                "action": "use",
                "constraint": [_purpose(agreement), *_validity(agreement)],
            }
        )
        permissions.append(
            {
                "uid": f"{asset['uid']}:distribute",
                "target": asset,
                "assigner": party(recipient),
                "assignee": party(source),
                "action": "distribute",
                "constraint": [
                    {
                        "leftOperand": "recipient",
                        "operator": "eq",
                        "rightOperand": organisation_uid(recipient),
                    },
                    _purpose(agreement),
                    *_validity(agreement),
                ],
            }
        )
        forbidden = ["sell", "commercialize", TARGETED_ADVERTISING]
        if element.identifiability != Identifiability.IDENTIFIABLE:
            forbidden.insert(0, REIDENTIFY)
        for action in forbidden:
            prohibitions.append(
                {
                    "uid": f"{asset['uid']}:prohibit:{action.rsplit(':', 1)[-1]}",
                    "target": asset,
                    "assigner": party(source),
                    "assignee": party(recipient),
                    "action": action,
                }
            )
        prohibitions.append(
            {
                "uid": f"{asset['uid']}:prohibit:onward-transfer",
                "target": asset,
                "assigner": party(source),
                "assignee": party(recipient),
                "action": "transfer",
                "constraint": [
                    {
                        "leftOperand": "recipient",
                        "operator": "isNoneOf",
                        "rightOperand": [organisation_uid(o) for o in organisations.values()],
                    }
                ],
            }
        )
        obligations.append(
            {
                "uid": f"{asset['uid']}:duty:delete",
                "target": asset,
                "assigner": party(source),
                "assignee": party(recipient),
                "action": "delete",
                "constraint": [
                    {"leftOperand": "dateTime", "operator": "lteq", "rightOperand": _date(deadline)}
                ],
            }
        )
        obligations.append(
            {
                "uid": f"{asset['uid']}:duty:breach-notice",
                "target": asset,
                "assigner": party(source),
                "assignee": party(recipient),
                "action": "inform",
                "informedParty": party(source),
                "constraint": [
                    {"leftOperand": "event", "operator": "eq", "rightOperand": BREACH_EVENT},
                    {
                        "leftOperand": "elapsedTime",
                        "operator": "lteq",
                        "rightOperand": {
                            "@value": f"PT{agreement.breach_notice_hours}H",
                            "@type": "xsd:duration",
                        },
                    },
                ],
            }
        )
    # Research approvals (agreements.approvals): while the required ones are not current no
    # data may flow, so nothing is permitted; while they are, permissions end with them.
    approvals_current, approvals_summary = odrl_research_approvals(agreement, today)
    if not approvals_current:
        permissions = []
    elif approvals_summary["validUntil"]:
        until = {
            "leftOperand": "dateTime",
            "operator": "lteq",
            "rightOperand": {"@value": approvals_summary["validUntil"], "@type": "xsd:date"},
        }
        for permission in permissions:
            permission["constraint"].append(until)
    return {
        "@context": ODRL_CONTEXT,
        "@type": "Agreement",
        "uid": f"urn:uuid:{agreement.pk}",
        "profile": "urn:collaboratory:odrl-profile:v1",
        "conflict": "prohibit",
        "title": f"{agreement.reference} {agreement.title}",
        "status": agreement.status,
        "textHash": agreement.text_hash,
        "parties": [{**party(m.organisation), "role": m.role} for m in members],
        "permission": permissions,
        "prohibition": prohibitions,
        "obligation": obligations,
        "researchApprovals": approvals_summary,
    }
