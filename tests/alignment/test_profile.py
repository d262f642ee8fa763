"""A person chooses the time zone their times are shown in; their team's by default."""

import pytest
from django.urls import reverse

from alignment.models import AuditEntry, User

pytestmark = pytest.mark.django_db


def test_times_are_in_the_teams_zone_until_the_person_chooses_one(client, org):
    ravi = org["ravi"]
    assert ravi.zone_name == "America/New_York"
    client.force_login(ravi)
    page = client.get(reverse("profile")).content.decode()
    assert "Your team's (America/New_York)" in page
    response = client.post(reverse("profile"), {"time_zone": "Asia/Tokyo"})
    assert response.status_code == 302
    assert User.objects.get(pk=ravi.pk).zone_name == "Asia/Tokyo"
    assert AuditEntry.objects.filter(action="user.time_zone", target_id=str(ravi.pk)).count() == 1
    client.post(reverse("profile"), {"time_zone": ""})
    assert User.objects.get(pk=ravi.pk).zone_name == "America/New_York"


@pytest.mark.parametrize("bad", ["Mars/Olympus", "x" * 300, "../../etc/passwd", "UTC\x00"])
def test_a_zone_that_does_not_exist_is_a_400_naming_the_field(client, org, bad):
    ravi = org["ravi"]
    client.force_login(ravi)
    response = client.post(reverse("profile"), {"time_zone": bad})
    assert response.status_code == 400
    body = response.content.decode()
    # The form's own error beside the field, or the parser's refusal of a NUL, by name.
    assert ('aria-invalid="true"' in body and "is not an IANA time zone" in body) or (
        "Field 'time_zone'" in body
    )
    assert User.objects.get(pk=ravi.pk).time_zone == ""


def test_someone_signed_out_is_sent_to_sign_in(client):
    response = client.get(reverse("profile"))
    assert response.status_code == 302
    assert reverse("login") in response["Location"]
