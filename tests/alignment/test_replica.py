"""With a replica configured, dashboards and reports read from it; the inbox and writes do not."""

import pytest
from django.db import connections
from django.test.utils import CaptureQueriesContext

from alignment import replica
from alignment.models import Team

# Committed rows (transaction=True): the replica is another connection, as in production.
pytestmark = [
    pytest.mark.postgres,
    pytest.mark.django_db(databases=["default", "replica"], transaction=True),
]


@pytest.fixture(autouse=True)
def _close_replica():
    yield
    connections["replica"].close()  # or the test database cannot be dropped


@pytest.fixture
def with_replica(settings):
    settings.REPLICA_READS = True


def queries(client, url: str) -> tuple[int, int, int]:
    with (
        CaptureQueriesContext(connections["default"]) as primary,
        CaptureQueriesContext(connections["replica"]) as copy,
    ):
        status = client.get(url).status_code
    return status, len(primary), len(copy)


@pytest.mark.usefixtures("with_replica")
def test_the_dashboard_reads_from_the_replica_and_the_inbox_from_the_primary(client, org):
    client.force_login(org["sam"])
    status, _, on_replica = queries(client, "/sla/dashboard/")
    assert status == 200
    assert on_replica > 0
    status, on_primary, on_replica = queries(client, "/leads/inbox/")
    assert status == 200
    assert on_primary > 0
    assert on_replica == 0


def test_without_a_replica_everything_reads_from_the_primary(client, org):
    client.force_login(org["sam"])
    status, on_primary, on_replica = queries(client, "/sla/dashboard/")
    assert status == 200
    assert on_primary > 0
    assert on_replica == 0


@pytest.mark.usefixtures("with_replica")
def test_writes_stay_on_the_primary_and_the_replica_is_never_migrated():
    router = replica.ReplicaRouter()
    with replica.reads():
        assert router.db_for_read(Team) == "replica"
        assert router.db_for_write(Team) == "default"
    assert router.db_for_read(Team) is None
    assert not router.allow_migrate("replica", "alignment")
