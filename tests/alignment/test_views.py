import re

import pytest
from django.urls import reverse

from alignment.demo import DEMO_PASSWORD
from alignment.models import User
from tests.alignment.factories import PASSWORD, TeamFactory, UserFactory

pytestmark = pytest.mark.django_db


def test_anonymous_visitor_is_sent_to_log_in(client):
    response = client.get("/")
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


@pytest.mark.parametrize(
    ("username", "expected"),
    [
        ("ravi", "Sales rep"),
        ("sam", "Sales manager"),
        ("leo", "Marketer"),
        ("maya", "Marketing manager"),
        ("ada", "Arbiter"),
        ("admin", "Admin"),
    ],
)
def test_each_demo_role_logs_in_and_lands_on_its_home(client, org, username, expected):
    response = client.post(
        reverse("login"), {"username": username, "password": DEMO_PASSWORD}, follow=True
    )
    assert response.status_code == 200
    html = response.content.decode()
    assert re.search(r'data-testid="role-home">\s*' + expected, html)


def test_navigation_shows_only_what_the_role_may_use(client, org):
    client.force_login(org["ravi"])
    html = client.get("/").content.decode()
    assert 'href="/team/"' not in html
    assert 'href="/admin/"' not in html
    client.force_login(org["sam"])
    assert 'href="/team/"' in client.get("/").content.decode()


def test_rep_is_refused_the_team_page(client, org):
    client.force_login(org["ravi"])
    response = client.get(reverse("team"))
    assert response.status_code == 403
    assert "Not allowed" in response.content.decode()


def test_manager_marks_a_rep_of_their_team_away_and_back(client, org):
    client.force_login(org["sam"])
    url = reverse("member_away", args=[org["ravi"].pk])
    assert client.post(url, {"away": "1"}).status_code == 302
    assert User.objects.get(pk=org["ravi"].pk).is_away
    response = client.post(url, {"away": "0"}, HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    assert "Mark away" in response.content.decode()
    assert not User.objects.get(pk=org["ravi"].pk).is_away


def test_manager_may_not_mark_another_teams_rep_away(client, org):
    client.force_login(org["sam"])
    response = client.post(reverse("member_away", args=[org["jonas"].pk]), {"away": "1"})
    assert response.status_code == 403
    assert not User.objects.get(pk=org["jonas"].pk).is_away


def test_marking_away_with_a_bad_value_is_refused_and_changes_nothing(client, org):
    client.force_login(org["sam"])
    response = client.post(reverse("member_away", args=[org["ravi"].pk]), {"away": "yes"})
    assert response.status_code == 400
    assert "away" in response.content.decode()
    assert not User.objects.get(pk=org["ravi"].pk).is_away


def test_team_page_queries_do_not_grow_with_members(client, count_queries):
    team = TeamFactory(name="Big team")
    manager = UserFactory(role="sales_manager", team=team)
    team.manager = manager
    team.save()
    client.force_login(manager)
    UserFactory.create_batch(3, role="sales_rep", team=team)
    few = count_queries(lambda: client.get(reverse("team")))
    assert few <= 10
    UserFactory.create_batch(30, role="sales_rep", team=team)
    assert count_queries(lambda: client.get(reverse("team"))) == few
    assert client.get(reverse("team")).content.decode().count("Mark away") == 33


def test_five_wrong_passwords_lock_the_login_even_for_the_right_password(client):
    UserFactory(username="target", role="sales_rep")
    for _ in range(4):
        response = client.post(reverse("login"), {"username": "target", "password": "wrong"})
        assert response.status_code == 200
        assert "Please enter a correct username and password" in response.content.decode()
    response = client.post(reverse("login"), {"username": "target", "password": "wrong"})
    assert response.status_code == 429
    response = client.post(reverse("login"), {"username": "target", "password": PASSWORD})
    assert response.status_code == 429
    assert "Too many failed log-ins" in response.content.decode()


def test_pages_send_a_strict_content_security_policy_and_no_inline_code(client, org):
    client.force_login(org["sam"])
    response = client.get("/")
    policy = response["Content-Security-Policy"]
    assert "default-src 'self'" in policy
    assert "script-src 'self'" in policy
    assert "'unsafe-inline'" not in policy
    html = response.content.decode()
    assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", html), "inline <script> found"
    assert " style=" not in html


def test_health_reports_the_database(client):
    response = client.get("/health/")
    assert response.status_code == 200
    assert response.json() == {"database": "ok"}


def test_api_schema_is_served(client, org):
    client.force_login(org["leo"])
    response = client.get("/api/schema/")
    assert response.status_code == 200
    assert b"openapi" in response.content


def test_only_the_most_specific_navigation_item_is_marked_current(client, org):
    from alignment.navigation import items_for

    items = items_for(org["ravi"], "/leads/inbox/")
    assert [i["label"] for i in items if i["active"]] == ["Inbox"]
    assert [i["label"] for i in items_for(org["ravi"], "/") if i["active"]] == ["Home"]
