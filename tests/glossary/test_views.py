import pytest
from django.db import connection
from django.template import Context, Template
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from glossary import services
from glossary.models import DefinitionVersion, VersionStatus
from tests.glossary.factories import RULES, ReasonFactory, TermFactory, agreed, draft, proposal

HTMX = {"HTTP_HX_REQUEST": "true"}


def editor_post(version, **overrides):
    data = {
        "revision": version.revision,
        "summary": "Stricter",
        "good_lead": "",
        "not_a_lead": "",
        "handling": "",
        "threshold": "40",
        "required_fields": "",
        "save": "1",
    }
    for i, rule in enumerate(RULES):
        value = rule["value"]
        data.update(
            {
                f"rules-r{i}-label": rule["label"],
                f"rules-r{i}-field": rule["field"],
                f"rules-r{i}-operator": rule["operator"],
                f"rules-r{i}-value": ", ".join(value) if isinstance(value, list) else value or "",
                f"rules-r{i}-points": str(rule["points"]),
                f"rules-r{i}-kind": rule["kind"],
            }
        )
    data.update(overrides)
    return data


@pytest.mark.parametrize(
    ("name", "method"),
    [
        ("glossary:version_edit", "get"),
        ("glossary:version_edit", "post"),
        ("glossary:version_sign", "get"),
        ("glossary:version_sign", "post"),
        ("glossary:version_send_back", "post"),
        ("glossary:version_propose", "post"),
        ("glossary:version_discard", "get"),
        ("glossary:version_discard", "post"),
    ],
)
def test_a_rep_gets_403_on_every_edit_and_sign_page(client, org, mql, name, method):
    version = draft(mql, org["leo"])
    client.force_login(org["ravi"])
    response = getattr(client, method)(reverse(name, args=[version.pk]))
    assert response.status_code == 403
    version.refresh_from_db()
    assert version.revision == 1


@pytest.mark.parametrize(
    ("name", "args"),
    [
        ("glossary:signatures", []),
        ("glossary:draft_new", ["mql"]),
        ("glossary:term_new", []),
        ("glossary:rule_row", []),
    ],
)
def test_a_rep_gets_403_on_the_other_write_pages(client, org, mql, name, args):
    client.force_login(org["ravi"])
    method = client.post if name == "glossary:draft_new" else client.get
    assert method(reverse(name, args=args)).status_code == 403
    assert not DefinitionVersion.objects.exists()


def test_a_rep_reads_the_glossary(client, org, mql):
    version = agreed(mql, org)
    client.force_login(org["ravi"])
    for url in [
        reverse("glossary:index"),
        reverse("glossary:stage", args=["mql"]),
        reverse("glossary:version", args=[version.pk]),
    ]:
        response = client.get(url)
        assert response.status_code == 200
        assert b"Draft a change" not in response.content
        assert b"Edit draft" not in response.content


def test_a_marketer_cannot_sign(client, org, mql):
    version = proposal(mql, org["leo"])
    client.force_login(org["leo"])
    response = client.post(
        reverse("glossary:version_sign", args=[version.pk]), {"revision": version.revision}
    )
    assert response.status_code == 403


def test_a_marketer_drafts_from_the_version_in_force_and_saves_a_new_threshold(client, org, mql):
    agreed(mql, org)
    client.force_login(org["leo"])
    response = client.post(reverse("glossary:draft_new", args=["mql"]))
    new = DefinitionVersion.objects.get(number=2)
    assert response.url == reverse("glossary:version_edit", args=[new.pk])
    assert client.get(response.url).status_code == 200
    response = client.post(response.url, editor_post(new))
    assert response.status_code == 302
    new.refresh_from_db()
    assert (new.threshold, new.summary, new.status) == (40, "Stricter", VersionStatus.DRAFT)
    assert [r.label for r in new.rules.all()] == [r["label"] for r in RULES]


def test_a_bad_rule_is_refused_with_its_number_and_nothing_is_saved(client, org, mql):
    version = draft(mql, org["leo"])
    client.force_login(org["leo"])
    response = client.post(
        reverse("glossary:version_edit", args=[version.pk]),
        editor_post(version, **{"rules-r1-value": "many", "threshold": "35"}),
    )
    assert response.status_code == 400
    assert "Rule 2 (“Long visit”), value: &quot;greater_than&quot; needs a number" in (
        response.content.decode()
    )
    version.refresh_from_db()
    assert (version.threshold, version.revision) == (30, 1)


def test_an_unreachable_threshold_is_refused(client, org, mql):
    version = draft(mql, org["leo"])
    client.force_login(org["leo"])
    response = client.post(
        reverse("glossary:version_edit", args=[version.pk]), editor_post(version, threshold="500")
    )
    assert response.status_code == 400
    assert b"no lead can reach 500" in response.content


def test_saving_a_stale_editor_says_so_with_409(client, org, mql):
    version = draft(mql, org["leo"])
    client.force_login(org["leo"])
    url = reverse("glossary:version_edit", args=[version.pk])
    assert client.post(url, editor_post(version)).status_code == 302
    response = client.post(url, editor_post(version, threshold="45"))
    assert response.status_code == 409
    assert b"changed since you opened it" in response.content


def test_the_rule_editor_adds_and_removes_rows_with_and_without_htmx(client, org, mql):
    version = draft(mql, org["leo"])
    client.force_login(org["leo"])
    row = client.get(reverse("glossary:rule_row"), **HTMX)
    assert row.status_code == 200
    assert b'name="rules-' in row.content
    assert b"<html" not in row.content
    url = reverse("glossary:version_edit", args=[version.pk])
    response = client.post(url, {**editor_post(version), "remove": "r0"})
    assert response.status_code == 200
    assert b"rules-r0-field" not in response.content
    response = client.post(url, {**editor_post(version), "add_rule": "1"})
    assert response.content.count(b'-field"') == len(RULES) + 1
    version.refresh_from_db()
    assert version.revision == 1


def test_proposing_then_signing_through_the_pages(client, org, mql):
    v1 = agreed(mql, org)
    version = draft(mql, org["leo"], threshold=40)
    client.force_login(org["leo"])
    client.post(
        reverse("glossary:version_propose", args=[version.pk]), {"revision": version.revision}
    )
    version.refresh_from_db()
    assert version.status == VersionStatus.PROPOSED
    client.force_login(org["maya"])
    page = client.get(reverse("glossary:version_sign", args=[version.pk]))
    assert b"Threshold 30 \xe2\x86\x92 40" in page.content
    client.post(reverse("glossary:version_sign", args=[version.pk]), {"revision": version.revision})
    client.force_login(org["sam"])
    response = client.post(
        reverse("glossary:version_sign", args=[version.pk]),
        {"revision": version.revision},
        follow=True,
    )
    assert b"is now in force" in response.content
    v1.refresh_from_db()
    assert v1.status == VersionStatus.SUPERSEDED


def test_a_late_signature_is_told_plainly_with_409(client, org, mql):
    version = proposal(mql, org["leo"])
    services.proposal_sign(version=version, by=org["sam"], expected_revision=version.revision)
    client.force_login(org["elena"])
    response = client.post(
        reverse("glossary:version_sign", args=[version.pk]), {"revision": version.revision}
    )
    assert response.status_code == 409
    assert "Sam Rivera already signed" in response.content.decode()


def test_send_back_needs_a_comment_and_records_it(client, org, mql):
    version = proposal(mql, org["leo"])
    client.force_login(org["sam"])
    url = reverse("glossary:version_send_back", args=[version.pk])
    response = client.post(url, {"comment": "", "revision": version.revision}, follow=True)
    assert b"Say what should change" in response.content
    version.refresh_from_db()
    assert version.status == VersionStatus.PROPOSED
    client.post(url, {"comment": "Too loose", "revision": version.revision})
    version.refresh_from_db()
    assert version.status == VersionStatus.DRAFT
    page = client.get(reverse("glossary:version", args=[version.pk]))
    assert b"Too loose" in page.content


def test_discarding_asks_first(client, org, mql):
    version = draft(mql, org["leo"])
    client.force_login(org["leo"])
    url = reverse("glossary:version_discard", args=[version.pk])
    assert b"cannot be undone" in client.get(url).content
    assert DefinitionVersion.objects.exists()
    client.post(url, {"revision": version.revision})
    assert not DefinitionVersion.objects.exists()


def test_a_discarded_draft_shows_in_the_history_of_the_version_in_force(client, org, mql):
    first = agreed(mql, org)
    version = draft(mql, org["leo"], summary="Stricter")
    client.force_login(org["leo"])
    response = client.post(
        reverse("glossary:version_discard", args=[version.pk]), {"revision": version.revision}
    )
    assert response["Location"] == reverse("glossary:stage", args=["mql"])
    page = client.get(reverse("glossary:version", args=[first.pk])).content.decode()
    assert "A draft based on it was discarded</strong> by Leo Fischer: v2 (Stricter)" in page


def test_example_attributes_score_against_the_draft_and_the_version_in_force(client, org, mql):
    agreed(mql, org)
    version = draft(mql, org["leo"], threshold=50)
    client.force_login(org["leo"])
    example = "Lead Source = Reference\nTotal Time Spent on Website = 900\nemail = a@b.c"
    response = client.get(
        reverse("glossary:version_try", args=[version.pk]), {"example": example}, **HTMX
    )
    content = response.content.decode()
    assert content.count("<strong>60</strong>") == 2
    assert "MQL v2" in content
    assert "MQL v1" in content
    bad = client.get(reverse("glossary:version_try", args=[version.pk]), {"example": "nonsense"})
    assert bad.status_code == 400


def test_the_diff_shows_rules_added_removed_and_changed(client, org, mql):
    v1 = agreed(mql, org)
    rules = [
        dict(RULES[0], points=35),
        RULES[1],
        {"field": "phone", "operator": "present", "points": 5, "kind": "fit", "label": "Phone"},
    ]
    v2 = draft(mql, org["leo"], rules=rules, threshold=40)
    client.force_login(org["ravi"])
    response = client.get(reverse("glossary:diff"), {"a": v2.pk, "b": v1.pk})
    content = response.content.decode()
    assert "Threshold 30 → 40" in content
    assert "1 rule added" in content
    assert "1 rule removed" in content
    assert "1 rule changed" in content
    assert client.get(reverse("glossary:diff"), {"a": v1.pk}).status_code == 400


def test_terms_search_as_you_type_returns_the_partial(client, org):
    TermFactory(name="MQL", definition="Marketing qualified lead.")
    TermFactory(name="SLA", definition="Service-level agreement.")
    client.force_login(org["ravi"])
    response = client.get(reverse("glossary:terms"), {"q": "mql"}, **HTMX)
    assert b"<html" not in response.content
    assert b"MQL" in response.content
    assert b"SLA" not in response.content
    empty = client.get(reverse("glossary:terms"), {"q": "zzz"}, **HTMX)
    assert "No term matches “zzz”".encode() in empty.content


def test_link_terms_links_known_terms_once_and_escapes_the_rest(db, django_assert_max_num_queries):
    TermFactory(name="MQL", slug="mql")
    TermFactory(name="No decision", slug="no-decision")
    template = Template("{% load glossary_terms %}{{ text|link_terms }}")
    with django_assert_max_num_queries(1):
        html = template.render(Context({"text": "<b>MQLs</b> and MQL end in no decision, not No"}))
        template.render(Context({"text": "again MQL"}))
    assert html.count('href="/glossary/terms/mql/"') == 1
    assert "&lt;b&gt;" in html
    assert '<a href="/glossary/terms/no-decision/"' in html


def test_a_marketer_adds_a_term_and_a_duplicate_is_refused(client, org):
    client.force_login(org["leo"])
    url = reverse("glossary:term_new")
    response = client.post(url, {"name": "Handoff", "definition": "When a lead moves."})
    assert response.status_code == 302
    again = client.post(url, {"name": "handoff", "definition": "Again."})
    assert again.status_code == 400
    assert "already in the glossary" in again.content.decode()


def test_the_signatures_panel_counts_what_waits(client, org, mql):
    proposal(mql, org["leo"])
    client.force_login(org["sam"])
    response = client.get(reverse("glossary:signatures_panel"))
    assert b"<strong>1</strong> proposal waiting" in response.content
    client.force_login(org["ravi"])
    assert b"Nothing waits" in client.get(reverse("glossary:signatures_panel")).content


# -- query counts that do not grow with rows ---------------------------------------


def _many(org, mql, n):
    for i in range(n):
        TermFactory(definition=f"Mentions MQL and SLA {i}.")
        ReasonFactory()
    if not DefinitionVersion.objects.filter(status="agreed").exists():
        agreed(mql, org)
    for _ in range(n):
        proposal(mql, org["leo"])


LIST_PAGES = [
    ("glossary:index", []),
    ("glossary:terms", []),
    ("glossary:stage", ["mql"]),
    ("glossary:signatures", []),
    ("glossary:signatures_panel", []),
]


@pytest.mark.parametrize(("name", "args"), LIST_PAGES)
def test_list_pages_cost_the_same_queries_however_many_rows(
    client, org, mql, name, args, django_assert_max_num_queries
):
    _many(org, mql, 2)
    client.force_login(org["sam"])
    url = reverse(name, args=args)
    client.get(url)  # warm the per-process caches (terms pattern, permissions)
    with CaptureQueriesContext(connection) as few:
        assert client.get(url).status_code == 200
    _many(org, mql, 15)
    with django_assert_max_num_queries(len(few)):
        assert client.get(url).status_code == 200
    assert len(few) <= 16
