"""The schema documents every 409 the API answers (issue 9, defect 12): an action on a
row (POST .../{id}/<action>/) can find the row moved on, and says so."""

import io
import json
import re

import pytest
from django.core.management import call_command
from rest_framework.test import APIClient

from sla.models import ArbiterCase


@pytest.fixture(scope="module")
def schema():
    out = io.StringIO()
    call_command("spectacular", "--format", "openapi-json", stdout=out)
    return json.loads(out.getvalue())


# Actions that move no state another writer could have moved first: they never answer 409.
NEVER_CONFLICTS = {
    # computes figures (kept per revision of both agreements): a changed draft is a new key
    "/api/v1/sla/agreements/{id}/whatif/",
    # queues one more attempt of a delivery, whatever its state
    "/api/v1/webhooks/deliveries/{id}/redeliver/",
    # a new secret replaces the current one, whatever it is
    "/api/v1/webhooks/endpoints/{id}/rotate-secret/",
}


def test_every_action_on_a_row_documents_its_409(schema):
    actions = [
        path
        for path, operations in schema["paths"].items()
        if "post" in operations and re.search(r"/\{(id|pk)\}/[a-z-]+/$", path)
    ]
    assert "/api/v1/sla/cases/{id}/decide/" in actions
    undocumented = [
        p
        for p in actions
        if "409" not in schema["paths"][p]["post"]["responses"] and p not in NEVER_CONFLICTS
    ]
    assert undocumented == []


def test_deciding_a_case_twice_answers_the_documented_409(world, schema):
    api = APIClient()
    api.force_authenticate(world.person("arbiter"))
    case = ArbiterCase.objects.get(pk=world.case.pk)
    url = f"/api/v1/sla/cases/{case.pk}/decide/"
    decided = api.post(url, {"decision": "uphold", "reason": "Fits."}, format="json")
    assert decided.status_code == 200, decided.content
    again = api.post(url, {"decision": "uphold", "reason": "Again."}, format="json")
    assert again.status_code == 409
    documented = schema["paths"]["/api/v1/sla/cases/{id}/decide/"]["post"]["responses"]["409"]
    ref = documented["content"]["application/json"]["schema"]["$ref"].rsplit("/", 1)[-1]
    required = schema["components"]["schemas"][ref].get("required", [])
    assert set(required) <= set(again.json())
