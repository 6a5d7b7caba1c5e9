"""The partner API publishes a district's student key rule (issue 20, item 5), so a student
information system can check its keys before sending them."""

from __future__ import annotations

from partners.student_key_settings import organisation_student_key_format_set


def test_the_api_publishes_the_districts_rule(demo, issue_token, api):
    riverbend = demo["orgs"]["riverbend-usd"]
    body = api(issue_token(riverbend, ["agreements:read"])).get("/api/v1/organisations/me").json()
    assert body["student_keys"]["format"] == ""
    assert "no word of four or more letters" in body["student_keys"]["description"]
    organisation_student_key_format_set(
        organisation=riverbend, by=demo["users"]["director"], student_key_format="RB-######"
    )
    body = api(issue_token(riverbend, ["agreements:read"])).get("/api/v1/organisations/me").json()
    assert body["student_keys"] == {
        "format": "RB-######",
        "description": "“RB-” followed by 6 digits",
        "pattern": r"^(?:RB\-[0-9]{6})$",
        "examples": ["RB-629583", "RB-304716"],
    }
    research = demo["orgs"]["northfield-university"]
    body = api(issue_token(research, ["agreements:read"])).get("/api/v1/organisations/me").json()
    assert body["student_keys"] is None


def test_the_schema_describes_the_student_keys(client):
    schema = client.get("/api/v1/schema/", headers={"Accept": "application/json"}).json()
    me = schema["components"]["schemas"]["OrganisationMe"]
    assert "student_keys" in me["properties"]
    assert "StudentKeyRule" in schema["components"]["schemas"]
