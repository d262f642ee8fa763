"""Fair distribution, measured: per rep, the leads they got, what their scores promise
and what came of them, so a rep who says the leads are unfair gets figures."""

import pytest
import time_machine
from django.urls import reverse

from leads import reports
from leads.machine import Stage
from leads.report_filters import parse_filters
from tests.dashboards.conftest import at
from tests.dashboards.factories import LeadFactory, version

pytestmark = pytest.mark.django_db


def test_each_rep_has_their_leads_average_score_expected_and_actual_wins(org, americas):
    mql = version(1, org["leo"])
    with time_machine.travel(at("2025-03-31 12:00"), tick=False):
        # Scores 80-89 win half their leads, 20-29 none (in the period's own figures).
        for n, (rep, score, stage) in enumerate(
            [
                ("ravi", 85, Stage.WON),
                ("ravi", 82, Stage.LOST),
                ("ravi", 81, Stage.SAL),
                ("carmen", 84, Stage.WON),
                ("carmen", 25, Stage.LOST),
                ("carmen", 22, Stage.NURTURE),
            ]
        ):
            LeadFactory(
                team=americas,
                owner=org[rep],
                score=score,
                definition_version=mql,
                stage=stage,
                created_at=at(f"2025-03-1{n} 09:00"),
                handed_off_at=at(f"2025-03-1{n} 10:00"),
                accepted_at=at(f"2025-03-1{n} 11:00") if stage != Stage.NURTURE else None,
            )
        filters = parse_filters(
            {"start": "2025-03-01", "end": "2025-03-31", "team": "all"},
            user=org["sam"],
            teams=[americas],
        )
        report = reports.distribution(filters)
    rows = {row[0]: row for row in report.tables[0].rows}
    # Rep, received, average score, expected won, accepted, % accepted, won.
    assert rows["Ravi Shah"][1:3] == [3, 82.7]
    assert rows["Carmen Lopez"][1:3] == [3, 43.7]
    # Band 80-89: 4 leads, 2 won (0.5 each); band 20-29: 2 leads, none won.
    assert rows["Ravi Shah"][3] == 1.5
    assert rows["Carmen Lopez"][3] == 0.5
    assert rows["Ravi Shah"][4] == 3
    assert rows["Ravi Shah"][6] == 1
    assert rows["Carmen Lopez"][4] == 2
    assert rows["Carmen Lopez"][6] == 1
    assert report.figures == {"reps": 2, "most": 3, "fewest": 3}


def test_the_panel_is_for_managers(client, org):
    url = reverse("leads:report_panel", args=["distribution"])
    client.force_login(org["ravi"])
    assert client.get(url).status_code == 403
    client.force_login(org["sam"])
    assert client.get(url).status_code == 200
