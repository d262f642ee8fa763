"""Calendar pages: who sees what, what a form post does, and what a page costs."""

import io
from datetime import UTC, date, datetime

import pytest
import time_machine
from django.urls import reverse

from alignment.models import Team
from sla import demo
from sla.models import BusinessCalendar, Closure, WorkingInterval
from tests.alignment.factories import TeamFactory
from tests.sla.factories import BusinessCalendarFactory, ClosureFactory

pytestmark = pytest.mark.django_db

# Monday 2 June 2025, 14:00 UTC: 10:00 in New York, 16:00 in Berlin.
NOW = datetime(2025, 6, 2, 14, tzinfo=UTC)


@pytest.fixture(autouse=True)
def _frozen():
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def calendars(org):
    demo.seed_demo(stdout=io.StringIO())
    return {c.team.name: c for c in BusinessCalendar.objects.select_related("team")}


@pytest.fixture
def americas(calendars):
    return calendars["Sales Americas"]


def html_of(response) -> str:
    return response.content.decode()


# --- reading -------------------------------------------------------------------


def test_everyone_signed_in_reads_the_list_of_calendars(client, org, calendars):
    client.force_login(org["ravi"])
    response = client.get(reverse("sla:calendars"))
    assert response.status_code == 200
    html = html_of(response)
    assert "Sales Americas hours" in html
    assert "Mon-Fri 09:00-12:00, 13:00-17:00" in html
    assert "Mon-Fri 08:30-17:00" in html
    assert "New calendar" not in html


def test_an_anonymous_visitor_is_sent_to_log_in(client, calendars):
    response = client.get(reverse("sla:calendars"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


def test_the_list_names_teams_still_on_the_default_week(client, org, calendars):
    TeamFactory(name="Sales APAC", time_zone="Asia/Singapore")
    client.force_login(org["admin"])
    html = html_of(client.get(reverse("sla:calendars")))
    assert "Sales APAC" in html
    assert "New calendar" in html


def test_the_list_costs_the_same_queries_for_many_calendars(
    client, org, calendars, django_assert_max_num_queries
):
    client.force_login(org["ravi"])
    client.get(reverse("sla:calendars"))  # warm the session and permission caches
    with django_assert_max_num_queries(10) as few:
        client.get(reverse("sla:calendars"))
    for n in range(8):
        BusinessCalendarFactory(team=TeamFactory(name=f"Extra {n}"))
    with django_assert_max_num_queries(len(few.captured_queries)):
        response = client.get(reverse("sla:calendars"))
    assert "Extra 7" in html_of(response)


def test_the_detail_page_shows_the_week_holidays_and_closures(client, org, calendars):
    emea = calendars["Sales EMEA"]
    client.force_login(org["jonas"])
    html = html_of(client.get(reverse("sla:calendar_detail", args=[emea.pk])))
    assert "08:30-17:00" in html
    assert "German Unity Day" in html  # 3 October 2025
    assert "Company closure between the years" in html
    assert "Open now" in html  # 16:00 in Berlin on a Monday
    assert "Edit calendar" not in html


def test_the_detail_page_says_when_a_closed_calendar_opens(client, org, calendars):
    client.force_login(org["ravi"])
    with time_machine.travel(datetime(2025, 6, 7, 14, tzinfo=UTC), tick=False):  # Saturday
        html = html_of(
            client.get(reverse("sla:calendar_detail", args=[calendars["Sales Americas"].pk]))
        )
    assert "Closed now" in html
    assert "opens Monday 9 June, 09:00 EDT" in html


def test_the_detail_page_costs_a_bounded_number_of_queries(
    client, org, americas, django_assert_max_num_queries
):
    for n in range(6):
        ClosureFactory(
            calendar=americas, first_day=date(2025, 9, 1 + n), last_day=date(2025, 9, 1 + n)
        )
    client.force_login(org["sam"])
    url = reverse("sla:calendar_detail", args=[americas.pk])
    client.get(url)
    with django_assert_max_num_queries(10):
        response = client.get(url)
    assert response.status_code == 200
    assert "Edit calendar" in html_of(response)


def test_the_deadline_helper_says_when_eight_business_hours_from_now_fall(client, org, americas):
    client.force_login(org["ravi"])
    url = reverse("sla:calendar_detail", args=[americas.pk])
    html = html_of(client.get(url, {"hours": "8"}))
    # 10:00 Monday in New York, lunch 12-13: 6 hours Monday, 2 hours Tuesday.
    assert "Tuesday 3 June 2025, 11:00 EDT" in html


def test_the_deadline_helper_answers_htmx_with_just_the_result(client, org, americas):
    client.force_login(org["ravi"])
    url = reverse("sla:calendar_detail", args=[americas.pk])
    response = client.get(url, {"hours": "2.5"}, HTTP_HX_REQUEST="true")
    html = html_of(response)
    assert html.lstrip().startswith('<div id="deadline-result"')
    assert "Monday 2 June 2025, 13:30 EDT" in html
    assert "<html" not in html


def test_the_deadline_helper_refuses_a_negative_number(client, org, americas):
    client.force_login(org["ravi"])
    url = reverse("sla:calendar_detail", args=[americas.pk])
    html = html_of(client.get(url, {"hours": "-1"}, HTTP_HX_REQUEST="true"))
    assert "greater than or equal to 0" in html


def test_a_missing_calendar_is_404(client, org):
    client.force_login(org["ravi"])
    assert client.get(reverse("sla:calendar_detail", args=[999999])).status_code == 404


# --- editing -------------------------------------------------------------------


@pytest.mark.parametrize("username", ["ravi", "elena", "maya"])
def test_a_rep_or_another_teams_manager_is_refused_the_edit_pages(client, org, americas, username):
    client.force_login(org[username])
    edit = reverse("sla:calendar_edit", args=[americas.pk])
    assert client.get(edit).status_code == 403
    response = client.post(
        reverse("sla:closure_add", args=[americas.pk]),
        {"first_day": "2025-07-07", "reason": "Sneaky"},
    )
    assert response.status_code == 403
    assert not Closure.objects.filter(calendar=americas).exists()
    response = client.post(
        reverse("sla:calendar_week", args=[americas.pk]), {"monday": "00:00-23:00"}
    )
    assert response.status_code == 403
    assert WorkingInterval.objects.filter(calendar=americas, weekday=0).count() == 2


def test_the_manager_adds_a_closure_with_a_plain_form_post(client, org, americas):
    client.force_login(org["sam"])
    response = client.post(
        reverse("sla:closure_add", args=[americas.pk]),
        {"first_day": "2025-07-07", "last_day": "2025-07-11", "reason": "Sales kick-off"},
        follow=True,
    )
    assert response.status_code == 200
    assert "Sales kick-off" in html_of(response)
    closure = Closure.objects.get(calendar=americas)
    assert (closure.first_day, closure.last_day) == (date(2025, 7, 7), date(2025, 7, 11))


def test_a_closure_of_one_day_needs_no_last_day(client, org, americas):
    client.force_login(org["sam"])
    client.post(
        reverse("sla:closure_add", args=[americas.pk]),
        {"first_day": "2025-07-07", "reason": "Team day"},
    )
    closure = Closure.objects.get(calendar=americas)
    assert closure.first_day == closure.last_day == date(2025, 7, 7)


def test_the_manager_adds_a_closure_through_htmx_and_gets_the_list_back(client, org, americas):
    client.force_login(org["sam"])
    response = client.post(
        reverse("sla:closure_add", args=[americas.pk]),
        {"first_day": "2025-07-07", "reason": "Team day"},
        HTTP_HX_REQUEST="true",
    )
    html = html_of(response)
    assert html.lstrip().startswith('<section id="closures"')
    assert "Team day" in html


def test_a_backwards_closure_is_refused_on_its_field(client, org, americas):
    client.force_login(org["sam"])
    response = client.post(
        reverse("sla:closure_add", args=[americas.pk]),
        {"first_day": "2025-07-07", "last_day": "2025-07-01", "reason": "Oops"},
    )
    assert response.status_code == 400
    assert "The last day is before the first day." in html_of(response)
    assert not Closure.objects.filter(calendar=americas).exists()


def test_removing_a_closure_asks_first_then_removes(client, org, americas):
    closure = ClosureFactory(
        calendar=americas, first_day=date(2025, 7, 7), last_day=date(2025, 7, 7), reason="Picnic"
    )
    client.force_login(org["sam"])
    url = reverse("sla:closure_remove", args=[americas.pk, closure.pk])
    confirm = client.get(url)
    assert "Remove this closure?" in html_of(confirm)
    assert Closure.objects.filter(pk=closure.pk).exists()
    response = client.post(url)
    assert response.status_code == 302
    assert not Closure.objects.filter(pk=closure.pk).exists()


def test_a_closure_of_another_calendar_cannot_be_removed_through_this_one(client, org, calendars):
    emea_closure = Closure.objects.filter(calendar=calendars["Sales EMEA"]).first()
    client.force_login(org["sam"])
    url = reverse("sla:closure_remove", args=[calendars["Sales Americas"].pk, emea_closure.pk])
    assert client.post(url).status_code == 404
    assert Closure.objects.filter(pk=emea_closure.pk).exists()


def test_the_manager_changes_working_hours(client, org, americas):
    client.force_login(org["sam"])
    response = client.post(
        reverse("sla:calendar_week", args=[americas.pk]),
        {"monday": "8-12, 13:00-16:00", "saturday": "10:00-14:00"},
    )
    assert response.status_code == 302
    hours = list(americas.intervals.values_list("weekday", "start", "end"))
    assert [(day, f"{s:%H:%M}", f"{e:%H:%M}") for day, s, e in hours] == [
        (0, "08:00", "12:00"),
        (0, "13:00", "16:00"),
        (5, "10:00", "14:00"),
    ]


@pytest.mark.parametrize(
    ("monday", "message"),
    [
        ("09:00-13:00, 12:00-17:00", "overlap"),
        ("22:00-06:00", "cross midnight"),
        ("nine to five", "is not an interval"),
        ("25:00-26:00", "does not exist"),
    ],
)
def test_bad_working_hours_are_refused_and_nothing_changes(client, org, americas, monday, message):
    client.force_login(org["sam"])
    before = list(americas.intervals.values_list("weekday", "start", "end"))
    response = client.post(
        reverse("sla:calendar_week", args=[americas.pk]),
        {"monday": monday, "tuesday": "09:00-17:00"},
    )
    assert response.status_code == 400
    assert message in html_of(response)
    assert list(americas.intervals.values_list("weekday", "start", "end")) == before


def test_an_unknown_holiday_country_is_refused_on_its_field(client, org, americas):
    client.force_login(org["sam"])
    response = client.post(
        reverse("sla:calendar_edit", args=[americas.pk]),
        {"name": americas.name, "time_zone": "America/New_York", "holiday_country": "QQ"},
    )
    assert response.status_code == 400
    assert "holidays package" in html_of(response)
    americas.refresh_from_db()
    assert americas.holiday_country == "US"


def test_the_admin_edits_any_calendar(client, org, americas):
    client.force_login(org["admin"])
    response = client.post(
        reverse("sla:calendar_edit", args=[americas.pk]),
        {"name": "Americas", "time_zone": "America/Chicago", "holiday_country": "us"},
    )
    assert response.status_code == 302
    americas.refresh_from_db()
    assert (americas.name, americas.time_zone, americas.holiday_country) == (
        "Americas",
        "America/Chicago",
        "US",
    )


def test_a_manager_creates_the_missing_calendar_of_their_team(client, org):
    team = Team.objects.get(name="Sales Americas")
    client.force_login(org["sam"])
    form = client.get(reverse("sla:calendar_create"))
    assert form.status_code == 200
    response = client.post(
        reverse("sla:calendar_create"),
        {"name": "Americas", "time_zone": "America/New_York", "team": team.pk},
    )
    assert response.status_code == 302
    calendar = BusinessCalendar.objects.get(team=team)
    assert calendar.intervals.count() == 5


def test_a_rep_may_not_create_a_calendar(client, org):
    client.force_login(org["ravi"])
    assert client.get(reverse("sla:calendar_create")).status_code == 403


# --- demo ----------------------------------------------------------------------


def test_the_demo_calendars_are_seeded_once(org):
    out = io.StringIO()
    demo.seed_demo(stdout=out)
    demo.seed_demo(stdout=out)
    assert BusinessCalendar.objects.count() == 3
    emea = BusinessCalendar.objects.get(team__name="Sales EMEA")
    assert emea.closures.count() == 2
    assert set(emea.closures.values_list("first_day", flat=True)) == {
        date(2024, 12, 24),
        date(2025, 12, 24),
    }
    assert out.getvalue().count("calendar ") == 3
