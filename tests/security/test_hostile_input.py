"""Hostile input is a 400 that names the field, wherever it enters; nothing is written.

One test per class of input (the classes the issue found giving 500s), through
the endpoints that used to fail; the fuzz test and the matrix cover the rest.
"""

import json

import pytest
from django.core.exceptions import ValidationError
from django.test import Client, RequestFactory
from hypothesis import given
from hypothesis import strategies as st

from alignment import http_errors, inputs
from glossary import services as glossary_services
from glossary.models import DefinitionVersion, Term


@pytest.fixture
def marketer(world):
    client = Client()
    client.force_login(world.person("marketer"))
    return client


@pytest.fixture
def admin(world):
    client = Client()
    client.force_login(world.person("admin"))
    return client


def post_json(client, url, raw: str):
    return client.post(url, raw, content_type="application/json")


DRAFTS = "/api/v1/glossary/definitions/"


@pytest.mark.parametrize(
    ("raw", "field"),
    [
        ('{"stage": "mql", "summary": "a\\u0000b"}', "summary"),
        ('{"stage": "mql", "rules": [{"field": "x\\u0000"}]}', "rules[0].field"),
        ('{"stage": "mql", "summary": "\\ud800"}', "summary"),
        ('{"stage": "mql", "threshold": 1e400}', "threshold"),
        ('{"stage": "mql", "threshold": -1e400}', "threshold"),
        ('{"stage": "mql", "threshold": 100000000000000000000000}', "threshold"),
    ],
    ids=["nul", "nul-nested", "lone-surrogate", "1e400", "-1e400", "huge-integer"],
)
def test_unstorable_json_values_are_refused_by_field(world, marketer, raw, field):
    before = DefinitionVersion.objects.count()
    response = post_json(marketer, DRAFTS, raw)
    assert response.status_code == 400
    assert field in response.json()
    assert DefinitionVersion.objects.count() == before


def test_a_nul_in_a_json_key_is_refused(world, marketer):
    response = post_json(marketer, "/api/v1/leads/", '{"source": "x", "\\u0000": 1}')
    assert response.status_code == 400
    assert "NUL" in json.dumps(response.json())


def test_json_nested_too_deep_is_refused(world, marketer):
    for raw in ["[" * 100_000 + "]" * 100_000, '{"a":' * 50 + "1" + "}" * 50]:
        response = post_json(marketer, "/api/v1/leads/bulk/", raw)
        assert response.status_code == 400
        assert "nested deeper" in json.dumps(response.json()).lower()


def test_a_nul_in_a_query_parameter_is_refused_by_name(world, admin):
    for url in ["/api/v1/leads/?source=a%00b", "/glossary/terms/?q=a%00b", "/leads/?q=%00"]:
        response = admin.get(url)
        assert response.status_code == 400, url
    assert "q" in admin.get("/glossary/terms/?q=a%00b").content.decode()
    assert admin.get("/api/v1/leads/?source=a%00b").json() == {
        "source": ["Contains a NUL character (\\u0000), which text may not hold."]
    }


@pytest.mark.parametrize("encoding", ["multipart", "urlencoded"])
def test_a_nul_in_a_form_field_is_refused_and_nothing_is_written(world, marketer, encoding):
    data = {"name": "Evil\x00", "definition": "x"}
    if encoding == "multipart":
        response = marketer.post("/glossary/terms/new/", data)
    else:
        body = "name=Evil%00&definition=x"
        response = marketer.post(
            "/glossary/terms/new/", body, content_type="application/x-www-form-urlencoded"
        )
    assert response.status_code == 400
    assert "Field 'name'" in response.content.decode()
    assert not Term.objects.filter(name__startswith="Evil").exists()


@pytest.mark.parametrize(
    "value", ["0000-01-01", "0001-01-01", "9999-12-31", "9999-12-31T23:59:59-05:00"]
)
def test_dates_at_the_edges_of_the_calendar_are_refused_in_filters(world, admin, value):
    since = admin.get("/api/v1/sla/breaches/", {"since": value})
    assert since.status_code == 400
    assert "since" in since.json()
    period = admin.get("/leads/reports/funnel/", {"end": value[:10]})
    assert period.status_code == 400
    api_period = admin.get("/api/v1/sla/dashboard/breaches/", {"start": value[:10]})
    assert api_period.status_code == 400


def test_a_revenue_target_at_the_end_of_the_calendar_is_a_form_error(world):
    client = Client()
    client.force_login(world.person("sales_manager"))
    response = client.post(
        "/sla/dashboard/target/",
        {"period_start": "9999-12-01", "period_end": "9999-12-31", "amount": "10"},
    )
    assert response.status_code in (200, 400)
    assert "Must be between" in response.content.decode()


def test_term_names_and_acronyms_over_their_column_are_refused_by_field(world, marketer):
    response = marketer.post(
        "/glossary/terms/new/", {"name": "N" * 81, "acronym_of": "A" * 121, "definition": "x"}
    )
    assert response.status_code == 400
    assert "At most 80 characters" in response.content.decode()
    assert not Term.objects.filter(name__startswith="NNN").exists()
    with pytest.raises(ValidationError) as refused:
        glossary_services.term_save(
            by=world.person("marketer"), name="Fine", acronym_of="A" * 121, definition="x"
        )
    assert refused.value.message_dict == {"acronym_of": ["At most 120 characters (121 given)."]}


def test_a_long_term_name_still_gets_a_slug_that_fits(world, marketer):
    for _ in range(2):
        response = marketer.post(
            "/glossary/terms/new/", {"name": "Ü" * 40 + "x" * 40, "definition": "x"}
        )
        assert response.status_code in (302, 400)
    assert all(len(t.slug) <= 80 for t in Term.objects.all())


def test_unknown_and_read_only_fields_in_a_write_are_refused(world, marketer):
    response = post_json(
        marketer, DRAFTS, json.dumps({"stage": "mql", "status": "agreed", "number": 9})
    )
    assert response.status_code == 400
    assert response.json() == {"status": ["Unknown field."], "number": ["Unknown field."]}
    sign = post_json(
        marketer,
        f"/api/v1/glossary/definitions/{world.draft.pk}/propose/",
        json.dumps({"revision": world.draft.revision, "signatures": []}),
    )
    assert sign.status_code == 400
    assert "signatures" in sign.json()


def test_every_write_endpoint_names_an_unknown_field(world, admin):
    """Generated from the schema: whatever takes a JSON body refuses what it does not take."""
    from drf_spectacular.generators import SchemaGenerator

    schema = SchemaGenerator().get_schema(request=None, public=True)
    roles = ("marketer", "sales_manager", "arbiter", "sales_rep", "admin")
    clients = {role: Client() for role in roles}
    for role, client in clients.items():
        client.force_login(world.person(role))
    rows = {
        "agreements": world.agreement_draft,
        "cases": world.case,
        "definitions": world.draft,
        "message-platform": world.platform_draft,
        "endpoints": world.webhook,
        "deliveries": world.delivery,
    }
    unchecked = []
    for path, operations in schema["paths"].items():
        if "post" not in operations or "requestBody" not in operations["post"]:
            continue
        row = next((r for part, r in rows.items() if f"/{part}/" in path), world.lead)
        url = path.replace("{id}", str(row.pk)).replace("{pk}", str(row.pk))
        answers = [post_json(c, url, '{"zz_not_a_field": 1}') for c in clients.values()]
        if not any(a.status_code == 400 and "zz_not_a_field" in a.json() for a in answers):
            unchecked.append(f"{path}: {[a.status_code for a in answers]}")
    assert not unchecked, unchecked


def test_pages_answer_only_the_methods_a_form_sends(world, admin):
    for method in ("put", "patch", "delete"):
        assert getattr(admin, method)("/glossary/").status_code == 405
    assert admin.options("/glossary/").status_code != 405


def test_a_token_header_that_is_not_text_is_a_401(world):
    response = Client().get(
        "/api/v1/leads/", HTTP_AUTHORIZATION=b"Token \xff\xfe".decode("latin-1")
    )
    assert response.status_code == 401


def test_api_errors_outside_views_are_json(world, admin):
    response = admin.get("/api/v1/no-such-endpoint/")
    assert response.status_code == 404
    assert response["Content-Type"] == "application/json"
    assert response.json() == {"detail": "Not found."}
    crash = http_errors.server_error(RequestFactory().get("/api/v1/leads/"))
    assert crash.status_code == 500
    assert json.loads(crash.content) == {"detail": "Server error: it is logged; try again later."}
    page = http_errors.server_error(RequestFactory().get("/leads/"))
    assert page.status_code == 500
    assert page["Content-Type"].startswith("text/html")


def test_the_schema_is_for_signed_in_callers_only(world, admin):
    assert Client().get("/api/schema/").status_code == 401
    assert admin.get("/api/schema/").status_code == 200


@pytest.mark.parametrize(
    ("url", "name"),
    [
        ("/api/v1/glossary/definitions/?status=signed", "status"),
        ("/api/v1/sla/agreements/?status=signed", "status"),
        ("/api/v1/leads/?stage=golden", "stage"),
        ("/api/v1/sla/cases/?kind=lawsuit", "kind"),
        ("/api/v1/sla/cases/?open=maybe", "open"),
    ],
)
def test_enum_filters_refuse_values_outside_the_enum(world, admin, url, name):
    response = admin.get(url)
    assert response.status_code == 400
    assert list(response.json()) == [name]
    assert response.json()[name][0].startswith("Must be one of: ")


@pytest.mark.parametrize("panel", ["breaches-summary", "commitment-summary"])
@pytest.mark.parametrize("query", ["team=abc", "start=2026-13-01", "rep=1e400", "end=9999-12-31"])
def test_dashboard_cards_refuse_bad_filters_with_a_400(world, admin, panel, query):
    assert admin.get(f"/sla/dashboard/{panel}/?{query}").status_code == 400


def _depth(value) -> int:
    """How many containers deep the deepest container sits (0: the top one)."""
    items = value.values() if isinstance(value, dict) else value
    below = [_depth(item) + 1 for item in items if isinstance(item, dict | list)]
    return max(below, default=0)


json_values = st.recursive(
    st.none() | st.integers() | st.text(max_size=3),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=2), inner),
    max_leaves=30,
)


@given(data=st.lists(json_values, max_size=4) | st.dictionaries(st.text(max_size=2), json_values))
def test_the_parsers_depth_check_sees_exactly_the_containers_below_its_limit(data):
    for limit in range(6):
        assert inputs._deeper_than(data, limit) == (_depth(data) > limit)
