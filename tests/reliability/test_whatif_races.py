"""Two people open the what-if of the same draft at the same instant: one replay."""

import pytest

from alignment import clock
from sla import whatif
from sla.agreements import agreement_draft_create
from sla.models import AgreementReplay, ReplayState
from tests.reliability.test_lead_races import run_together
from tests.sla.engine import agreement  # noqa: F401 - the fixture

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


@pytest.mark.usefixtures("agreement")
@pytest.mark.parametrize("attempt", range(3))
def test_two_asking_for_the_same_what_if_at_once_compute_it_once(org, monkeypatch, attempt):
    draft = agreement_draft_create(
        by=org["sam"], goals=[{"label": "Everyone else", "accept_hours": 1, "first_touch_hours": 4}]
    )
    period = whatif.replay_period(now=clock.now())
    runs = []
    real = whatif.whatif

    def counted(**kwargs):
        runs.append(kwargs["draft"].pk)
        return real(**kwargs)

    monkeypatch.setattr(whatif, "whatif", counted)

    def ask(who):
        return lambda: (
            whatif.whatif_request(agreement=draft, period=period, by=org[who], now=clock.now()).pk
        )

    outcomes = run_together(ask("sam"), ask("maya"))
    assert [kind for kind, _ in outcomes] == ["ok", "ok"], outcomes
    assert outcomes[0][1] == outcomes[1][1]
    assert runs == [draft.pk]
    assert AgreementReplay.objects.get().state == ReplayState.DONE
