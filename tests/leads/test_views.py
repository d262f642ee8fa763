"""The browser side: inbox, actions as form posts and htmx swaps, came-back list."""

import pytest
from django.urls import reverse
from django.utils import timezone

from leads import ingest as lead_ingest
from leads import services
from leads.models import Dispute, Lead, LeadEvent
from tests.leads.conftest import NOT_QUALIFYING, QUALIFYING

pytestmark = pytest.mark.django_db


def ingest(org, n=1, **overrides):
    leads = []
    for i in range(n):
        data = {
            **QUALIFYING,
            "external_id": f"V-{Lead.objects.count()}-{i}",
            "attributes": {"TotalVisits": "5"},
            "email": "",
            "first_name": "",
            "last_name": "",
            "phone": "",
            **overrides,
        }
        leads.append(lead_ingest.lead_ingest(data=data, by=org["leo"], via="test").lead)
    return leads


def test_the_inbox_lists_my_leads_with_why_they_qualified(client, org, mql_in_force, territories):
    lead = ingest(org)[0]
    client.force_login(lead.owner)
    html = client.get(reverse("leads:inbox")).content.decode()
    assert f'id="lead-{lead.pk}"' in html
    assert "Decision maker" in html  # the score explanation
    assert "Accept" in html


def test_a_rep_sees_no_other_reps_leads_in_the_inbox(client, org, mql_in_force, territories):
    leads = ingest(org, 3)
    owners = {lead.owner_id for lead in leads}
    assert len(owners) == 3  # round robin gave one to each rep
    client.force_login(leads[0].owner)
    html = client.get(reverse("leads:inbox")).content.decode()
    assert f'id="lead-{leads[0].pk}"' in html
    assert f'id="lead-{leads[1].pk}"' not in html


def test_the_inbox_makes_a_bounded_number_of_queries(
    client, org, mql_in_force, territories, count_queries
):
    ingest(org, 3)
    rep = org["ravi"]
    client.force_login(rep)
    few = count_queries(lambda: client.get(reverse("leads:inbox")))
    ingest(org, 30)
    assert Lead.objects.filter(owner=rep).count() >= 10
    assert count_queries(lambda: client.get(reverse("leads:inbox"))) == few
    assert few <= 11  # with the one that lists the sources for the filter


def test_the_sorted_and_filtered_inbox_makes_as_many_queries_however_many_leads(
    client, org, mql_in_force, territories, count_queries
):
    ingest(org, 3)
    client.force_login(org["ravi"])
    url = reverse("leads:inbox") + "?stage=mql&source=webform&sort=score"
    few = count_queries(lambda: client.get(url))
    ingest(org, 30)
    assert count_queries(lambda: client.get(url)) == few
    assert few <= 11


def _inbox_ids(client, query: str = "") -> list[int]:
    response = client.get(reverse("leads:inbox") + query)
    assert response.status_code == 200
    return [lead.pk for lead in response.context["leads"]]


def test_the_inbox_filters_by_stage_and_source_and_sorts(client, org, mql_in_force, territories):
    rep = org["ravi"]
    mine = [
        lead for lead in ingest(org, 9) + ingest(org, 6, source="ads") if lead.owner_id == rep.pk
    ]
    web = [lead for lead in mine if lead.source == "webform"]
    ads = [lead for lead in mine if lead.source == "ads"]
    services.lead_accept(lead=web[0], by=rep, now=timezone.now())
    client.force_login(rep)

    assert _inbox_ids(client, "?stage=sal") == [web[0].pk]
    assert sorted(_inbox_ids(client, "?source=ads")) == sorted(lead.pk for lead in ads)
    assert sorted(_inbox_ids(client, "?stage=mql&source=webform")) == sorted(
        lead.pk for lead in web[1:]
    )
    newest_first = sorted(mine, key=lambda lead: (lead.handed_off_at, lead.pk), reverse=True)
    assert _inbox_ids(client, "?sort=newest") == [lead.pk for lead in newest_first]
    html = client.get(reverse("leads:inbox") + "?source=ads").content.decode()
    assert f"{len(ads)} open leads match" in html


def test_the_inbox_offers_the_sources_of_my_open_leads_only(client, org, mql_in_force, territories):
    mine = [lead for lead in ingest(org, 6, source="ads") if lead.owner_id == org["ravi"].pk]
    ingest(org, 3)  # webform, one of them ravi's
    ingest(org, 3, source="zz-fair")  # one ravi's, closed below
    ingest(org, 3, source="events")  # given to the others
    Lead.objects.filter(source="events", owner=org["ravi"]).update(owner=org["carmen"])
    Lead.objects.filter(source="zz-fair").update(stage="lost")
    assert mine
    client.force_login(org["ravi"])
    response = client.get(reverse("leads:inbox"))
    assert response.context["sources"] == ["ads", "webform"]


def test_unknown_inbox_filters_mean_any_and_never_fail(client, org, mql_in_force, territories):
    leads = [lead for lead in ingest(org, 3) if lead.owner_id == org["ravi"].pk]
    client.force_login(org["ravi"])
    query = "?stage=won&source=nope&sort=-id;drop&page=x"
    assert sorted(_inbox_ids(client, query)) == sorted(lead.pk for lead in leads)


def test_the_inbox_count_stops_at_its_cap(client, org, mql_in_force, territories, monkeypatch):
    from leads.views import BoundedPaginator

    monkeypatch.setattr(BoundedPaginator, "cap", 2)
    ingest(org, 12)
    client.force_login(org["ravi"])
    html = client.get(reverse("leads:inbox")).content.decode()
    assert "more than 2 open leads" in html


def test_every_inbox_row_posts_to_its_own_lead(client, org, mql_in_force, territories):
    leads = [lead for lead in ingest(org, 6) if lead.owner_id == org["ravi"].pk]
    client.force_login(org["ravi"])
    html = client.get(reverse("leads:inbox")).content.decode()
    for lead in leads:
        assert f'action="{reverse("leads:accept", args=[lead.pk])}"' in html
        assert f'action="{reverse("leads:reject", args=[lead.pk])}"' in html
    assert html.count('name="csrfmiddlewaretoken"') >= 2 * len(leads)


def test_the_lead_list_makes_a_bounded_number_of_queries(
    client, org, mql_in_force, territories, count_queries
):
    ingest(org, 3)
    client.force_login(org["leo"])
    few = count_queries(lambda: client.get(reverse("leads:list")))
    ingest(org, 30)
    assert count_queries(lambda: client.get(reverse("leads:list"))) == few


def test_accept_as_a_plain_form_post_redirects_back(client, org, mql_in_force, territories):
    lead = ingest(org)[0]
    client.force_login(lead.owner)
    response = client.post(
        reverse("leads:accept", args=[lead.pk]),
        {"version": lead.version, "next": reverse("leads:inbox")},
    )
    assert response.status_code == 302
    assert response["Location"] == reverse("leads:inbox")
    lead.refresh_from_db()
    assert lead.stage == "sal"


def test_accept_with_htmx_swaps_the_row(client, org, mql_in_force, territories):
    lead = ingest(org)[0]
    client.force_login(lead.owner)
    response = client.post(
        reverse("leads:accept", args=[lead.pk]),
        {"version": lead.version, "view": "row"},
        HTTP_HX_REQUEST="true",
    )
    assert response.status_code == 200
    html = response.content.decode()
    assert 'data-stage="sal"' in html
    assert "Log touch" in html


def test_reject_without_the_required_note_is_a_400_and_changes_nothing(
    client, org, mql_in_force, territories
):
    lead = ingest(org)[0]
    client.force_login(lead.owner)
    response = client.post(
        reverse("leads:reject", args=[lead.pk]), {"reason": "other", "version": lead.version}
    )
    assert response.status_code == 400
    assert "needs a note" in response.content.decode()
    lead.refresh_from_db()
    assert lead.stage == "mql"
    assert not LeadEvent.objects.filter(lead=lead, kind="rejected").exists()


def test_acting_on_a_lead_that_changed_meanwhile_is_a_409_that_says_so(
    client, org, mql_in_force, territories
):
    lead = ingest(org)[0]
    client.force_login(lead.owner)
    stale_version = lead.version
    services.lead_accept(lead=lead, by=lead.owner, now=lead.created_at)
    response = client.post(
        reverse("leads:reject", args=[lead.pk]),
        {"reason": "no_budget", "version": stale_version},
        HTTP_HX_REQUEST="true",
    )
    assert response.status_code == 409
    assert "changed while you were looking" in response.content.decode()


def test_another_rep_may_not_act_on_my_lead(client, org, mql_in_force, territories):
    lead = ingest(org)[0]
    other = next(org[u] for u in ("ravi", "carmen", "tom") if org[u] != lead.owner)
    client.force_login(other)
    response = client.post(reverse("leads:accept", args=[lead.pk]), {})
    assert response.status_code == 403
    lead.refresh_from_db()
    assert lead.stage == "mql"


def test_a_rejected_lead_shows_in_came_back_and_marketing_can_dispute_it(
    client, org, mql_in_force, territories
):
    lead = ingest(org)[0]
    services.lead_reject(lead=lead, by=lead.owner, reason="no_budget", now=lead.created_at)
    client.force_login(org["leo"])
    html = client.get(reverse("leads:came_back")).content.decode()
    assert "No budget" in html
    assert str(lead) in html
    empty = client.post(reverse("leads:dispute", args=[lead.pk]), {"reason": " "})
    assert empty.status_code == 400
    response = client.post(
        reverse("leads:dispute", args=[lead.pk]),
        {"reason": "They have budget: see the webinar Q&A"},
    )
    assert response.status_code == 302
    assert Dispute.objects.get(lead=lead).status == "open"
    again = client.post(reverse("leads:dispute", args=[lead.pk]), {"reason": "again"})
    assert again.status_code == 400
    assert Dispute.objects.filter(lead=lead).count() == 1


def test_a_rep_may_not_see_came_back_or_dispute(client, org, mql_in_force, territories):
    lead = ingest(org)[0]
    services.lead_reject(lead=lead, by=lead.owner, reason="no_budget", now=lead.created_at)
    client.force_login(org["ravi"])
    assert client.get(reverse("leads:came_back")).status_code == 403
    assert client.post(reverse("leads:dispute", args=[lead.pk]), {"reason": "x"}).status_code == 403


def test_came_back_makes_a_bounded_number_of_queries(
    client, org, mql_in_force, territories, count_queries
):
    def reject(n):
        for lead in ingest(org, n):
            services.lead_reject(lead=lead, by=lead.owner, reason="no_budget", now=lead.created_at)

    reject(2)
    client.force_login(org["leo"])
    few = count_queries(lambda: client.get(reverse("leads:came_back")))
    reject(20)
    assert count_queries(lambda: client.get(reverse("leads:came_back"))) == few


def test_the_manager_sees_the_team_inbox_and_reassigns(client, org, mql_in_force, territories):
    lead = ingest(org)[0]
    target = next(org[u] for u in ("ravi", "carmen", "tom") if org[u] != lead.owner)
    client.force_login(org["sam"])
    assert str(lead) in client.get(reverse("leads:team_inbox")).content.decode()
    response = client.post(reverse("leads:reassign", args=[lead.pk]), {"to": target.pk})
    assert response.status_code == 302
    lead.refresh_from_db()
    assert lead.owner == target
    assert client.post(reverse("leads:reassign", args=[lead.pk]), {"to": "x"}).status_code == 400


def test_a_rep_may_not_open_the_team_inbox(client, org):
    client.force_login(org["ravi"])
    assert client.get(reverse("leads:team_inbox")).status_code == 403


def test_the_timeline_shows_every_step_with_actor(client, org, mql_in_force, territories):
    lead = ingest(org)[0]
    services.lead_accept(lead=lead, by=lead.owner, now=lead.created_at)
    client.force_login(lead.owner)
    html = client.get(reverse("leads:detail", args=[lead.pk])).content.decode()
    for label in ("Ingested", "Handed off", "Accepted"):
        assert label in html
    assert f"by {lead.owner}" in html


def test_the_definition_preview_counts_gained_and_lost_leads(
    client, org, mql_in_force, territories
):
    from glossary import services as glossary_services

    ingest(org, 2)
    lead_ingest.lead_ingest(
        data={
            **NOT_QUALIFYING,
            "attributes": {},
            "email": "",
            "first_name": "",
            "last_name": "",
            "company": "",
            "phone": "",
            "external_id": "np",
        },
        by=org["leo"],
    )
    draft = glossary_services.draft_create(
        stage=mql_in_force.stage,
        by=org["leo"],
        threshold=95,
        rules=[
            {
                "label": "Anyone",
                "field": "source",
                "operator": "present",
                "value": None,
                "points": 100,
                "kind": "fit",
            }
        ],
    )
    client.force_login(org["leo"])
    response = client.get(reverse("leads:definition_preview", args=[draft.pk]))
    assert response.status_code == 200
    assert response.context["gained"] == 1
    assert response.context["qualified_now"] == 2
    assert response.context["qualified_draft"] == 3
    client.force_login(org["ravi"])
    assert client.get(reverse("leads:definition_preview", args=[draft.pk])).status_code == 403


def test_lead_sources_are_the_distinct_live_sources_in_order(org, mql_in_force, territories):
    from leads.selectors import lead_sources

    ingest(org, 2)
    ingest(org, 1, source="partner")
    lead_ingest.lead_ingest(
        data={
            **NOT_QUALIFYING,
            "source": "expo",
            "external_id": "e1",
            "attributes": {},
            "email": "",
            "first_name": "",
            "last_name": "",
            "company": "",
            "phone": "",
        },
        by=org["leo"],
    )
    assert lead_sources() == ["expo", "partner", "webform"]


def test_marketing_sends_a_rejected_lead_to_sales_again_and_a_rep_may_not(
    client, org, mql_in_force, territories
):
    lead = ingest(org)[0]
    services.lead_reject(lead=lead, by=lead.owner, reason="no_budget", now=lead.created_at)
    client.force_login(lead.owner)
    assert client.post(reverse("leads:recycle", args=[lead.pk])).status_code == 403
    client.force_login(org["leo"])
    response = client.post(reverse("leads:recycle", args=[lead.pk]), {"note": "New budget"})
    assert response.status_code == 302
    lead.refresh_from_db()
    assert lead.stage == "mql"
    assert lead.rejection_reason is None
    assert lead.owner is not None
    assert list(lead.events.values_list("kind", flat=True))[-2:] == ["recycled", "handed_off"]
    # Not from MQL again: 409 with the stage, nothing changes.
    again = client.post(reverse("leads:recycle", args=[lead.pk]), HTTP_HX_REQUEST="true")
    assert again.status_code == 409


# -- many leads at once (the manager's team inbox) -------------------------------


def _team_leads(org, n):
    return [lead for lead in ingest(org, n) if lead.team_id == org["sam"].team_id]


def test_a_manager_reviews_then_reassigns_many_leads_each_with_its_event(
    client, org, mql_in_force, territories
):
    leads = [lead for lead in _team_leads(org, 6) if lead.owner_id != org["tom"].pk][:3]
    client.force_login(org["sam"])
    form = {"lead": [lead.pk for lead in leads], "action": "reassign", "to": org["tom"].pk}
    review = client.post(reverse("leads:team_bulk"), form)
    assert review.status_code == 200
    assert "Confirm: 3 leads reassigned to Tom Becker" in review.content.decode()
    assert not Lead.objects.filter(pk__in=form["lead"], owner=org["tom"]).exists()

    done = client.post(reverse("leads:team_bulk"), {**form, "confirm": "1"})
    assert done.status_code == 302
    assert done["Location"] == reverse("leads:team_inbox")
    assert Lead.objects.filter(pk__in=form["lead"], owner=org["tom"]).count() == 3
    events = LeadEvent.objects.filter(lead_id__in=form["lead"], kind="reassigned")
    assert sorted(e.lead_id for e in events) == sorted(form["lead"])
    assert {e.actor_id for e in events} == {org["sam"].pk}


def test_a_manager_returns_many_leads_to_marketing(client, org, mql_in_force, territories):
    leads = _team_leads(org, 3)
    client.force_login(org["sam"])
    form = {"lead": [lead.pk for lead in leads], "action": "return", "confirm": "1"}
    assert client.post(reverse("leads:team_bulk"), form).status_code == 302
    assert set(Lead.objects.filter(pk__in=form["lead"]).values_list("stage", flat=True)) == {
        "nurture"
    }
    assert LeadEvent.objects.filter(lead_id__in=form["lead"], kind="returned").count() == 3


@pytest.mark.parametrize(
    ("form", "field"),
    [
        ({"action": "reassign", "to": "tom"}, "Leads"),
        ({"action": "return", "lead": ["1", "drop table"]}, "Leads"),
        ({"action": "reassign", "lead": "first"}, "Rep"),
        ({"action": "teleport", "lead": "first"}, "Action"),
        ({"action": "return", "lead": "first", "note": "x" * 5000}, "Note"),
    ],
)
def test_bad_bulk_input_is_a_400_naming_the_field_and_changes_nothing(
    client, org, mql_in_force, territories, form, field
):
    leads = _team_leads(org, 3)
    before = list(Lead.objects.order_by("pk").values_list("pk", "owner_id", "stage"))
    client.force_login(org["sam"])
    if form.get("lead") == "first":
        form = {**form, "lead": [lead.pk for lead in leads]}
    if form.get("to") == "tom":
        form = {**form, "to": org["tom"].pk}
    response = client.post(reverse("leads:team_bulk"), {**form, "confirm": "1"})
    assert response.status_code == 400
    assert f"<strong>{field}:</strong>" in response.content.decode()
    assert list(Lead.objects.order_by("pk").values_list("pk", "owner_id", "stage")) == before


def test_one_lead_of_another_team_refuses_the_whole_batch(client, org, mql_in_force, territories):
    ours = _team_leads(org, 3)
    theirs = ingest(org, 1, country="Germany")[0]
    assert theirs.team_id != org["sam"].team_id
    before = list(Lead.objects.order_by("pk").values_list("pk", "owner_id", "stage"))
    client.force_login(org["sam"])
    form = {"lead": [lead.pk for lead in ours] + [theirs.pk], "action": "return", "confirm": "1"}
    response = client.post(reverse("leads:team_bulk"), form)
    assert response.status_code == 403
    assert list(Lead.objects.order_by("pk").values_list("pk", "owner_id", "stage")) == before


def test_a_rep_may_not_act_in_bulk(client, org, mql_in_force, territories):
    leads = _team_leads(org, 3)
    client.force_login(org["ravi"])
    form = {"lead": [lead.pk for lead in leads], "action": "return", "confirm": "1"}
    assert client.post(reverse("leads:team_bulk"), form).status_code == 403
    assert not Lead.objects.filter(stage="nurture").exists()
