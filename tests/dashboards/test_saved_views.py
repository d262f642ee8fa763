"""A manager saves the dashboard's filters under a name and comes back to them in one
click; a saved view is its owner's alone."""

from datetime import UTC, datetime

import pytest
import time_machine
from django.urls import reverse

from sla.models import SavedView

pytestmark = pytest.mark.django_db

TODAY = datetime(2025, 4, 10, 12, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def frozen():
    with time_machine.travel(TODAY, tick=False):
        yield


def save(client, name, **filters):
    data = {"start": "2025-03-12", "end": "2025-04-10", "team": "all", **filters, "name": name}
    return client.post(reverse("sla:saved_view_save"), data)


def test_a_saved_view_opens_its_filters_over_the_same_number_of_days_to_today(client, org, emea):
    client.force_login(org["elena"])
    response = save(client, "EMEA webform", team=str(emea.pk), source="webform")
    assert response.status_code == 302
    view = SavedView.objects.get(owner=org["elena"])
    assert (view.name, view.days) == ("EMEA webform", 30)
    page = client.get(reverse("sla:dashboard")).content.decode()
    assert ">EMEA webform</a>" in page
    assert f"team={emea.pk}&amp;source=webform&amp;start=2025-03-12&amp;end=2025-04-10" in page
    with time_machine.travel(datetime(2025, 5, 1, 9, 0, tzinfo=UTC), tick=False):
        client.force_login(org["elena"])  # the session of April has expired
        later = client.get(reverse("sla:dashboard")).content.decode()
    assert "start=2025-04-02&amp;end=2025-05-01" in later


def test_a_manager_sees_and_deletes_only_their_own_views(client, org):
    client.force_login(org["sam"])
    save(client, "Mine")
    sams = SavedView.objects.get(owner=org["sam"])
    client.force_login(org["elena"])
    assert ">Mine</a>" not in client.get(reverse("sla:dashboard")).content.decode()
    response = client.post(reverse("sla:saved_view_delete", args=[sams.pk]))
    assert response.status_code == 403
    assert SavedView.objects.filter(pk=sams.pk).exists()
    client.force_login(org["sam"])
    assert client.post(reverse("sla:saved_view_delete", args=[sams.pk])).status_code == 302
    assert not SavedView.objects.filter(pk=sams.pk).exists()


@pytest.mark.parametrize(
    ("name", "filters", "says"),
    [
        ("", {}, "Give the view a name"),
        ("x" * 81, {}, "At most 80 characters"),
        ("Fine", {"team": "99999"}, ""),
        ("Fine", {"start": "2025-13-45"}, ""),
    ],
)
def test_bad_input_is_a_400_and_saves_nothing(client, org, name, filters, says):
    client.force_login(org["sam"])
    response = save(client, name, **filters)
    assert response.status_code in (400, 403)
    assert says in response.content.decode()
    assert not SavedView.objects.exists()


def test_a_second_view_of_the_same_name_is_refused(client, org):
    client.force_login(org["sam"])
    assert save(client, "Weekly").status_code == 302
    response = save(client, "Weekly")
    assert response.status_code == 400
    assert "already have a view named" in response.content.decode()
    assert SavedView.objects.count() == 1


def test_a_rep_may_not_save_dashboard_views(client, org):
    client.force_login(org["ravi"])
    assert save(client, "Mine").status_code == 403
    assert not SavedView.objects.exists()
