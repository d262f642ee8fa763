"""A draft definition judged on outcomes: its score replayed on the period's leads with
their real outcomes, conversion by band and ROC AUC against the version in force."""

import pytest
from django.urls import reverse

from alignment import clock
from glossary import services as glossary_services
from leads import services
from leads.definition_outcomes import definition_outcomes
from tests.sla.engine import hand_off

pytestmark = pytest.mark.django_db

KEEN = {
    "label": "Keen visitor",
    "field": "TotalVisits",
    "operator": "greater_than",
    "value": 8,
    "points": 100,
    "kind": "behaviour",
}


@pytest.fixture
def outcomes_known(org, mql_in_force, territories):
    """Four leads the version in force scores alike; the two keen ones reached SQL."""
    now = clock.now()
    for n, visits in enumerate(["9", "12", "4", "5"]):
        lead = hand_off(org, f"o-{n}", attributes={"TotalVisits": visits})
        if int(visits) > 8:
            services.lead_accept(lead=lead, by=lead.owner, now=now)
            services.lead_qualify(lead=lead, by=lead.owner, now=now)
    return glossary_services.draft_create(
        stage=mql_in_force.stage, by=org["leo"], threshold=50, rules=[KEEN]
    )


def test_a_draft_that_ranks_the_real_outcomes_better_shows_a_higher_auc(org, outcomes_known):
    found = definition_outcomes(outcomes_known, now=clock.now())
    draft, in_force = found["versions"]
    assert found["leads"] == 4
    assert (draft["name"], in_force["name"]) == ("draft", "in_force")
    assert draft["auc_sql"] == 1.0  # the keen leads are exactly those that reached SQL
    assert in_force["auc_sql"] == 0.5  # it scores all four the same: chance
    assert (draft["qualified"], draft["qualified_sql_rate"]) == (2, 100.0)
    assert (in_force["qualified"], in_force["qualified_sql_rate"]) == (4, 50.0)
    assert draft["auc_won"] is None  # nothing won yet: no AUC to give
    top = next(b for b in draft["bands"] if b["band"] == "100–119")
    assert (top["leads"], top["sql_rate"]) == (2, 100.0)


def test_the_preview_shows_both_versions_judged_on_outcomes(client, org, outcomes_known):
    client.force_login(org["leo"])
    html = client.get(reverse("leads:definition_preview", args=[outcomes_known.pk])).content
    html = html.decode()
    assert 'data-testid="definition-auc"' in html
    assert "(this draft)" in html
    assert "(in force)" in html
    assert "1.0" in html
