"""One small organisation with a row of every kind, made through the services.

The permission matrix and the schema fuzz both need something behind every
URL: a lead owned by a rep (and one owned by a rep of another team), a draft
and a definition in force, an agreement, a calendar with a closure, an
arbiter's case, a review with an action, an import, a term.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import transaction

from alignment import clock, tokens
from alignment.demo import seed_organisation

# The role a test speaks for -> the demo person who plays it.
PEOPLE = {
    "marketer": "leo",
    "marketing_manager": "maya",
    "sales_rep": "ravi",
    "other_rep": "jonas",  # a rep of another team (EMEA): not ravi's colleague
    "sales_manager": "sam",  # ravi's manager
    "arbiter": "ada",
    "admin": "admin",
}
ROLES = ("anonymous", *PEOPLE)


@dataclass
class World:
    people: dict[str, Any]
    lead: Any  # handed to ravi
    other_lead: Any  # handed to jonas (EMEA)
    rejected: Any  # rejected by ravi, disputed by leo: the arbiter has a case
    draft: Any  # an MQL draft by leo
    in_force: Any  # the MQL version in force
    agreement: Any  # the agreement in force
    agreement_draft: Any
    calendar: Any
    closure: Any
    case: Any
    review: Any
    review_action: Any
    lead_import: Any
    term: Any
    reason: Any
    token: Any  # ravi's API token
    platform_draft: Any = None  # a message platform draft by leo (v1 is in force)
    webhook: Any = None  # an endpoint, with one delivery made
    delivery: Any = None

    def person(self, role: str):
        return self.people.get(role)


def _world() -> World:
    from glossary import demo as glossary_demo
    from glossary import platform as message_platform
    from glossary import services as glossary_services
    from glossary.models import DefinitionVersion, Term
    from glossary.selectors import reasons_in_force
    from leads import imports, ingest
    from leads import services as lead_services
    from leads.models import Lead, Territory
    from leads.validation import clean_lead_input
    from sla import agreements
    from sla import demo as sla_demo
    from sla.models import Agreement, ArbiterCase, Closure, Review

    org = {p.username: p for p in seed_organisation()}
    glossary_demo.seed_demo()
    quiet = io.StringIO()
    calendars = sla_demo.seed_demo(stdout=quiet)
    sla_demo.seed_demo_review(stdout=quiet)  # the demo seeds it after its scan (after_demo)
    for country, team in [("United States", org["sam"].team), ("Germany", org["elena"].team)]:
        Territory.objects.get_or_create(country=country, defaults={"team": team})
    now = clock.now()

    def lead(country: str, n: int):
        data, errors = clean_lead_input(
            {
                "source": "security-world",
                "external_id": f"w{n}",
                "email": f"lead{n}@example.test",
                "first_name": "Lee",
                "last_name": f"Number{n}",
                "company": "Acme",
                "title": "Head of Sales",
                "country": country,
                "attributes": {
                    "Lead Origin": "Lead Add Form",
                    "TotalVisits": "8",
                    "Total Time Spent on Website": "900",
                },
            }
        )
        assert not errors, errors
        made = ingest.lead_ingest(data=data, by=org["leo"], now=now, via="api").lead
        return Lead.objects.select_related("owner").get(pk=made.pk)

    mine, theirs, rejected = lead("United States", 1), lead("Germany", 2), lead("United States", 3)
    for made, owner in [(mine, "ravi"), (theirs, "jonas"), (rejected, "ravi")]:
        if made.owner_id != org[owner].pk:  # round-robin picked a colleague: give it back
            lead_services.lead_reassign(
                lead=made, by=org[owner].team.manager, to=org[owner], now=now
            )
    rejected.refresh_from_db()
    reason = next(r.reason for r in reasons_in_force() if not r.needs_note)
    lead_services.lead_reject(lead=rejected, by=org["ravi"], reason=reason.code, now=now)
    rejected.refresh_from_db()
    lead_services.lead_dispute(lead=rejected, by=org["leo"], reason="They fit.", now=now)
    in_force = DefinitionVersion.objects.get(stage__key="mql", status="agreed")
    draft = glossary_services.draft_create(stage=in_force.stage, by=org["leo"], summary="Draft")
    agreement = Agreement.objects.get(status="agreed")
    agreement_draft = agreements.agreement_draft_create(by=org["leo"], summary="Draft")
    platform_draft = message_platform.platform_draft_create(by=org["leo"], summary="Draft")
    emea = next(c for c in calendars if c.team_id == org["elena"].team_id)
    upload = SimpleUploadedFile(
        "leads.csv", b"Email,Company,Country\nnew@example.test,Acme,Germany\n", "text/csv"
    )
    lead_import = imports.lead_import_upload(upload=upload, by=org["leo"])
    review = Review.objects.order_by("-held_on").first()
    return World(
        people={role: org[username] for role, username in PEOPLE.items()},
        lead=mine,
        other_lead=theirs,
        rejected=rejected,
        draft=draft,
        in_force=in_force,
        agreement=agreement,
        agreement_draft=agreement_draft,
        calendar=emea,
        closure=Closure.objects.filter(calendar=emea).first(),
        case=ArbiterCase.objects.get(lead=rejected),
        review=review,
        review_action=review.actions.first(),
        lead_import=lead_import,
        term=Term.objects.order_by("slug").first(),
        reason=reason,
        token=tokens.token_create(user=org["ravi"], name="ravi's script")[0],
        platform_draft=platform_draft,
        **_webhook(org["admin"]),
    )


def _webhook(admin) -> dict[str, Any]:
    from alignment import webhooks
    from alignment.models import OutboxEvent, WebhookDelivery

    endpoint = webhooks.endpoint_create(
        by=admin, name="CRM", url="https://crm.example.test/hooks", event_types=["lead.accepted"]
    )
    event = OutboxEvent.objects.create(
        event_type="lead.accepted", lead_id=None, occurred_at=clock.now(), payload={}
    )
    delivery = WebhookDelivery.objects.create(endpoint=endpoint, event=event, state="delivered")
    return {"webhook": endpoint, "delivery": delivery}


@pytest.fixture(scope="module")
def module_world(django_db_setup, django_db_blocker):
    """Made once per module inside a transaction that is rolled back at its end.

    Each test's own `db` transaction nests inside it (a savepoint), as Django's
    TestCase.setUpTestData does for a class: 4 seconds once, not once per test.
    """
    with django_db_blocker.unblock():
        outer = transaction.atomic()
        outer.__enter__()
        try:
            yield _world()
        finally:
            transaction.set_rollback(True)
            outer.__exit__(None, None, None)
            _clear_caches()


def _clear_caches() -> None:
    # Per-process caches must not outlive the rolled-back rows they hold.
    from glossary import scoring, terms_cache
    from sla.selectors import clear_spec_cache

    clear_spec_cache()
    scoring.clear_cache()
    terms_cache.clear()


@pytest.fixture
def world(module_world, db) -> World:
    return module_world
