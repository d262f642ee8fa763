"""Agreement pages: who may do what, bad input refused whole, conflicts told, few queries."""

from decimal import Decimal

import pytest
from django.urls import reverse

from alignment.models import Team
from sla import agreements
from sla.models import Agreement, AgreementStatus
from tests.sla.test_agreements import HOT, REST, draft, in_force, proposal

HTMX = {"HTTP_HX_REQUEST": "true"}


def editor_post(agreement, **overrides):
    americas = Team.objects.get(name="Sales Americas")
    emea = Team.objects.get(name="Sales EMEA")
    data = {
        "revision": agreement.revision,
        "summary": "Hot leads in half an hour",
        "min_acceptance_rate": "70",
        "max_incomplete_rate": "5",
        "escalation_hours": "4",
        "pause_when_away": "1",
        "restart_on_reassign": "1",
        "goals-a1-label": "Hot",
        "goals-a1-min_score": "60",
        "goals-a1-match_field": "Lead Origin",
        "goals-a1-match_values": "Lead Add Form, Demo request",
        "goals-a1-accept_hours": "0.5",
        "goals-a1-first_touch_hours": "2",
        "goals-a1-min_attempts": "3",
        "goals-a1-attempt_days": "5",
        "goals-a1-followup_days": "",
        "goals-a1-warn_percent": "75",
        "goals-rest-label": "Everyone else",
        "goals-rest-accept_hours": "8",
        "goals-rest-first_touch_hours": "16",
        "goals-rest-min_attempts": "3",
        "goals-rest-attempt_days": "5",
        "goals-rest-warn_percent": "75",
        f"commit-{americas.pk}": "40",
        f"commit-{emea.pk}": "",
        "save": "1",
    }
    data.update(overrides)
    return data


@pytest.mark.parametrize(
    ("name", "method"),
    [
        ("sla:agreement_edit", "get"),
        ("sla:agreement_edit", "post"),
        ("sla:agreement_propose", "post"),
        ("sla:agreement_discard", "get"),
        ("sla:agreement_discard", "post"),
        ("sla:agreement_sign", "get"),
        ("sla:agreement_sign", "post"),
        ("sla:agreement_send_back", "post"),
    ],
)
def test_a_rep_gets_403_on_every_edit_and_sign_page(client, org, name, method):
    version = draft(org["leo"])
    client.force_login(org["ravi"])
    response = getattr(client, method)(reverse(name, args=[version.pk]))
    assert response.status_code == 403
    version.refresh_from_db()
    assert (version.revision, version.status) == (1, "draft")


def test_a_rep_may_not_start_a_draft_nor_open_the_signature_list(client, org):
    client.force_login(org["ravi"])
    assert client.post(reverse("sla:agreement_new")).status_code == 403
    assert client.get(reverse("sla:signatures")).status_code == 403
    assert client.get(reverse("sla:agreement_goal_row")).status_code == 403
    assert not Agreement.objects.exists()


def test_a_marketer_may_not_sign(client, org):
    version = proposal(org["leo"])
    client.force_login(org["leo"])
    response = client.post(
        reverse("sla:agreement_sign", args=[version.pk]), {"revision": version.revision}
    )
    assert response.status_code == 403
    assert not version.signatures.exists()


def test_anonymous_visitors_are_sent_to_log_in(client, org):
    response = client.get(reverse("sla:agreements"))
    assert response.status_code == 302
    assert "/accounts/login/" in response["Location"]


def test_everyone_signed_in_reads_the_agreement_in_force_in_plain_words(client, org):
    in_force(org, commitments=[{"team": Team.objects.get(name="Sales EMEA"), "monthly_mqls": 60}])
    client.force_login(org["ravi"])
    page = client.get(reverse("sla:agreements")).content.decode()
    assert "for leads scoring ≥ 60 or whose Lead Origin is Lead Add Form" in page
    assert "accept or reject within 1 business hour of handoff" in page
    assert "60 MQLs a month to Sales EMEA" in page
    assert "At least 70% of MQLs accepted by sales" in page
    assert "Draft a change" not in page, "a rep does not draft"


def test_a_page_with_no_agreement_says_so(client, org):
    client.force_login(org["maya"])
    page = client.get(reverse("sla:agreements")).content.decode()
    assert "No agreement is in force yet" in page


def test_a_sales_manager_starts_a_draft_copied_from_the_agreement_in_force(client, org):
    in_force(org)
    client.force_login(org["sam"])
    response = client.post(reverse("sla:agreement_new"))
    version = Agreement.objects.get(number=2)
    assert response["Location"] == reverse("sla:agreement_edit", args=[version.pk])
    assert version.goals.count() == 2
    assert version.created_by == org["sam"]


def test_the_first_draft_starts_with_a_catch_all_to_fill_in(client, org):
    client.force_login(org["leo"])
    client.post(reverse("sla:agreement_new"))
    assert [g.label for g in Agreement.objects.get().goals.all()] == ["Everyone else"]


def test_the_editor_saves_goals_commitments_and_terms(client, org):
    version = draft(org["leo"])
    client.force_login(org["maya"])
    response = client.post(reverse("sla:agreement_edit", args=[version.pk]), editor_post(version))
    assert response.status_code == 302, response.content.decode()[:2000]
    version.refresh_from_db()
    assert version.revision == 2
    hot = version.goals.get(label="Hot")
    assert hot.accept_hours == Decimal("0.50")
    assert hot.match_values == ["Lead Add Form", "Demo request"]
    assert [(c.team.name, c.monthly_mqls) for c in version.commitments.all()] == [
        ("Sales Americas", 40)
    ]
    assert version.goals.last().label == "Everyone else"


def test_the_editor_shows_what_it_loaded(client, org):
    version = draft(org["leo"])
    client.force_login(org["leo"])
    page = client.get(reverse("sla:agreement_edit", args=[version.pk])).content.decode()
    assert 'value="Lead Add Form"' in page
    assert 'value="Everyone else"' in page


def test_bad_input_is_refused_with_400_naming_the_goal_and_nothing_is_written(client, org):
    version = draft(org["leo"])
    client.force_login(org["leo"])
    response = client.post(
        reverse("sla:agreement_edit", args=[version.pk]),
        editor_post(
            version,
            **{
                "goals-a1-accept_hours": "0",
                "goals-rest-warn_percent": "100",
                "min_acceptance_rate": "120",
            },
        ),
    )
    assert response.status_code == 400
    page = response.content.decode()
    assert "Nothing was saved." in page
    assert "Goal 1 (“Hot”): accept or reject within must be more than 0" in page
    assert "Goal 2 (“Everyone else”): warn at (percent) must be between 1 and 99." in page
    assert "Min acceptance rate: The acceptance rate (percent) must be between 0 and 100." in page
    assert 'name="goals-a1-accept_hours" value="0"' in page, "what was typed stays"
    version.refresh_from_db()
    assert (version.revision, version.summary) == (1, "")
    assert version.goals.get(label="Hot").accept_hours == Decimal("1.00")


def test_a_commitment_to_a_team_is_refused_on_its_row(client, org):
    version = draft(org["leo"])
    emea = Team.objects.get(name="Sales EMEA")
    client.force_login(org["leo"])
    response = client.post(
        reverse("sla:agreement_edit", args=[version.pk]),
        editor_post(version, **{f"commit-{emea.pk}": "-4"}),
    )
    assert response.status_code == 400
    assert "Commitment 2 (Sales EMEA): MQLs a month must be between 0 and 100000." in (
        response.content.decode()
    )
    assert not version.commitments.exists()


def test_a_segment_without_criteria_is_told_it_hides_the_goals_after_it(client, org):
    version = draft(org["leo"])
    client.force_login(org["leo"])
    response = client.post(
        reverse("sla:agreement_edit", args=[version.pk]),
        editor_post(
            version,
            **{"goals-a1-min_score": "", "goals-a1-match_field": "", "goals-a1-match_values": ""},
        ),
    )
    assert response.status_code == 400
    assert (
        "matches every lead, so the goals after it would never apply" in response.content.decode()
    )


def test_adding_and_removing_a_goal_without_javascript_rerenders_unsaved(client, org):
    version = draft(org["leo"])
    client.force_login(org["leo"])
    url = reverse("sla:agreement_edit", args=[version.pk])
    added = client.post(url, {**editor_post(version), "add_goal": "1"}).content.decode()
    assert added.count('class="goal-row') == 3
    removed = client.post(url, {**editor_post(version), "remove": "a1"}).content.decode()
    assert 'name="goals-a1-label"' not in removed
    version.refresh_from_db()
    assert version.revision == 1


def test_htmx_gets_a_fresh_goal_row_and_an_empty_answer_on_remove(client, org):
    client.force_login(org["sam"])
    row = client.get(reverse("sla:agreement_goal_row"), **HTMX).content.decode()
    assert row.strip().startswith("<article")
    assert "goals-" in row
    assert "-accept_hours" in row
    assert client.get(reverse("sla:agreement_goal_row_removed"), **HTMX).content == b""


def test_an_edit_from_a_stale_page_gets_409_and_the_reason(client, org):
    version = draft(org["leo"])
    stale = editor_post(version)
    agreements.agreement_draft_update(agreement=version, by=org["maya"], expected_revision=1)
    client.force_login(org["leo"])
    response = client.post(reverse("sla:agreement_edit", args=[version.pk]), stale)
    assert response.status_code == 409
    assert "changed since you opened it" in response.content.decode()


def test_the_edit_page_of_an_agreement_in_force_sends_you_back(client, org):
    version = in_force(org)
    client.force_login(org["maya"])
    response = client.get(reverse("sla:agreement_edit", args=[version.pk]), follow=True)
    assert "only drafts can be edited" in response.content.decode()
    response = client.post(reverse("sla:agreement_edit", args=[version.pk]), editor_post(version))
    assert response.status_code == 302
    assert version.goals.get(label="Hot").accept_hours == Decimal("1.00")


def test_propose_sign_and_sign_through_the_pages(client, org):
    in_force(org)
    version = draft(org["leo"], summary="Next")
    client.force_login(org["leo"])
    client.post(reverse("sla:agreement_propose", args=[version.pk]), {"revision": 1})
    version.refresh_from_db()
    assert version.status == AgreementStatus.PROPOSED
    client.force_login(org["maya"])
    assert client.get(reverse("sla:signatures")).content.decode().count("Review and sign")
    sign_page = client.get(reverse("sla:agreement_sign", args=[version.pk])).content.decode()
    assert "What changes" in sign_page
    assert "Sign for marketing" in sign_page
    response = client.post(
        reverse("sla:agreement_sign", args=[version.pk]), {"revision": 2}, follow=True
    )
    assert "waits for the other side" in response.content.decode()
    client.force_login(org["elena"])
    response = client.post(
        reverse("sla:agreement_sign", args=[version.pk]), {"revision": 2}, follow=True
    )
    assert "is now in force" in response.content.decode()
    assert dict(Agreement.objects.values_list("number", "status")) == {
        1: "superseded",
        2: "agreed",
    }


def test_signing_a_version_no_longer_proposed_gets_409(client, org):
    version = proposal(org["leo"])
    agreements.agreement_send_back(agreement=version, by=org["elena"], comment="No")
    client.force_login(org["sam"])
    response = client.post(reverse("sla:agreement_sign", args=[version.pk]), {"revision": 2})
    assert response.status_code == 409
    assert "no longer waiting for signatures" in response.content.decode()
    assert not version.signatures.exists()


def test_proposing_an_invalid_draft_goes_back_to_the_editor(client, org):
    version = draft(org["leo"])
    # A draft can only hold valid content; a stale revision is what a second click sends.
    client.force_login(org["leo"])
    response = client.post(reverse("sla:agreement_propose", args=[version.pk]), {"revision": 9})
    assert response.status_code == 409
    assert "changed since you opened it" in response.content.decode()


def test_sending_back_needs_a_comment_and_then_lapses_signatures(client, org):
    version = proposal(org["leo"])
    agreements.agreement_sign(agreement=version, by=org["maya"], expected_revision=2)
    client.force_login(org["sam"])
    url = reverse("sla:agreement_send_back", args=[version.pk])
    response = client.post(url, {"revision": 2, "comment": "  "})
    assert response.status_code == 400
    assert "Say what should change" in response.content.decode()
    assert version.signatures.count() == 1
    response = client.post(url, {"revision": 2, "comment": "EMEA needs 12 hours"})
    assert response.status_code == 302
    version.refresh_from_db()
    assert version.status == "draft"
    detail = client.get(reverse("sla:agreement_detail", args=[version.pk])).content.decode()
    assert "EMEA needs 12 hours" in detail
    assert "signatures lapsed: marketing" in detail


def test_discarding_asks_first_then_deletes_the_draft(client, org):
    version = draft(org["leo"])
    client.force_login(org["leo"])
    url = reverse("sla:agreement_discard", args=[version.pk])
    assert "Discard draft Agreement v1?" in client.get(url).content.decode()
    assert Agreement.objects.exists()
    assert client.post(url, {"revision": 1}).status_code == 302
    assert not Agreement.objects.exists()


def test_an_agreement_in_force_cannot_be_discarded(client, org):
    version = in_force(org)
    client.force_login(org["maya"])
    response = client.post(
        reverse("sla:agreement_discard", args=[version.pk]), {"revision": version.revision}
    )
    assert response.status_code == 409
    assert Agreement.objects.filter(status="agreed").count() == 1


def test_the_diff_shows_the_changed_goal_side_by_side(client, org):
    first = in_force(org)
    second = in_force(org, goals=[dict(HOT, accept_hours=2), REST], summary="Slower")
    client.force_login(org["ravi"])
    response = client.get(reverse("sla:agreement_diff"), {"a": second.pk, "b": first.pk})
    page = response.content.decode()
    assert response.status_code == 200
    assert "Agreement v1 and Agreement v2 side by side" in page
    assert "1 goal changed" in page
    assert "accept within" in page
    assert "within 2 business hours of handoff" in page


def test_the_diff_of_one_version_with_itself_is_a_400(client, org):
    version = in_force(org)
    client.force_login(org["ravi"])
    response = client.get(reverse("sla:agreement_diff"), {"a": version.pk, "b": version.pk})
    assert response.status_code == 400
    assert client.get(reverse("sla:agreement_diff"), {"a": version.pk, "b": 99999}).status_code == (
        404
    )


def test_a_superseded_version_links_to_what_changed(client, org):
    first = in_force(org)
    in_force(org)
    client.force_login(org["ravi"])
    page = client.get(reverse("sla:agreement_detail", args=[first.pk])).content.decode()
    assert "Superseded." in page
    assert "See what changed in Agreement v2" in page


def test_history_lists_every_event_with_its_actor(client, org):
    in_force(org)
    client.force_login(org["ravi"])
    page = client.get(reverse("sla:agreement_history")).content.decode()
    assert "Proposed for signature" in page
    assert "Signed</strong> for sales by Sam Rivera" in page


def test_the_signatures_panel_counts_what_waits_for_this_manager(client, org):
    version = proposal(org["leo"], summary="Waiting")
    client.force_login(org["sam"])
    panel = client.get(reverse("sla:signatures_panel"), **HTMX).content.decode()
    assert "<strong>1</strong> agreement waiting for you" in panel
    agreements.agreement_sign(agreement=version, by=org["sam"], expected_revision=2)
    panel = client.get(reverse("sla:signatures_panel"), **HTMX).content.decode()
    assert "No agreement waits for your signature." in panel
    client.force_login(org["ravi"])
    panel = client.get(reverse("sla:signatures_panel"), **HTMX).content.decode()
    assert "No agreement waits" in panel


def test_the_list_page_costs_the_same_for_three_versions_or_thirty(client, org, count_queries):
    in_force(org)
    client.force_login(org["maya"])
    url = reverse("sla:agreements")
    few = count_queries(lambda: client.get(url))
    for _ in range(10):
        in_force(org)
        proposal(org["leo"])
        draft(org["sam"])
    many = count_queries(lambda: client.get(url))
    assert many == few
    assert many <= 16
    # Thirty versions: two pages, the older reachable from the first.
    first = client.get(url).content.decode()
    assert "Page 1 of 2" in first
    assert 'href="?page=2" rel="next"' in first
    assert "Page 2 of 2" in client.get(url, {"page": 2}).content.decode()


def test_the_detail_page_costs_a_fixed_number_of_queries(client, org, count_queries):
    version = in_force(org)
    client.force_login(org["maya"])
    url = reverse("sla:agreement_detail", args=[version.pk])
    few = count_queries(lambda: client.get(url))
    for _ in range(5):
        in_force(org)
    version = in_force(org, goals=[HOT, dict(HOT, label="Warm", min_score=40), REST])
    url = reverse("sla:agreement_detail", args=[version.pk])
    many = count_queries(lambda: client.get(url))
    assert many == few
    assert many <= 14


def test_the_admin_lists_agreements_read_only(client, org):
    version = in_force(org)
    client.force_login(org["admin"])
    assert client.get("/admin/sla/agreement/").status_code == 200
    page = client.get(f"/admin/sla/agreement/{version.pk}/change/")
    assert page.status_code == 200
    assert 'name="_save"' not in page.content.decode()
    assert client.post(f"/admin/sla/agreement/{version.pk}/delete/").status_code == 403
    assert Agreement.objects.filter(pk=version.pk).exists()


def test_the_editor_offers_whose_hours_the_clocks_count_and_saves_the_choice(client, org):
    version = draft(org["leo"])
    client.force_login(org["leo"])
    page = client.get(reverse("sla:agreement_edit", args=[version.pk])).content.decode()
    assert '<option value="team" selected>The team&#x27;s business calendar</option>' in page
    assert '<option value="rep">The rep&#x27;s own working hours</option>' in page
    response = client.post(
        reverse("sla:agreement_edit", args=[version.pk]),
        editor_post(version, clock_calendar="rep"),
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    version.refresh_from_db()
    assert version.clock_calendar == "rep"
    page = client.get(reverse("sla:agreement_edit", args=[version.pk])).content.decode()
    assert '<option value="rep" selected>' in page


def test_the_editor_refuses_an_unknown_clock_calendar_naming_it(client, org):
    version = draft(org["leo"])
    client.force_login(org["leo"])
    response = client.post(
        reverse("sla:agreement_edit", args=[version.pk]),
        editor_post(version, clock_calendar="moon"),
    )
    assert response.status_code == 400
    assert "must be &quot;team&quot;" in response.content.decode()
    version.refresh_from_db()
    assert (version.clock_calendar, version.revision) == ("team", 1)


def test_the_plain_words_and_the_diff_say_whose_hours_the_clocks_count(client, org):
    first = in_force(org)
    second = in_force(org, clock_calendar="rep")
    client.force_login(org["ravi"])
    page = client.get(reverse("sla:agreement_detail", args=[second.pk])).content.decode()
    assert "count only the rep&#x27;s own working hours, in the rep&#x27;s time zone" in page
    response = client.get(reverse("sla:agreement_diff"), {"a": second.pk, "b": first.pk})
    page = response.content.decode()
    assert "A rep&#x27;s clocks run on" in page
    assert "The team&#x27;s business calendar" in page
    assert "The rep&#x27;s own working hours" in page
