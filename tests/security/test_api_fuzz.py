"""The API fuzzed from its own OpenAPI schema (schemathesis), as an admin and as a rep.

For every operation, hypothesis draws requests from the schema, both valid
ones and ones that break it (negative mode: wrong types, missing fields,
values out of range). Every answer must be no 5xx, a status code the schema
documents, and a body that matches the schema for that code. Bounded: a few
examples per operation and mode, so the whole run takes about a minute.
Each request runs in a savepoint that is rolled back, like the matrix.
"""

from __future__ import annotations

import pytest
import schemathesis
from django.core.handlers.wsgi import WSGIHandler
from django.core.signals import request_finished, request_started
from django.db import close_old_connections, transaction
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from alignment import tokens

EXAMPLES = {GenerationMode.POSITIVE: 6, GenerationMode.NEGATIVE: 6}
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]


@pytest.fixture
def in_process_wsgi():
    """Django's WSGI app, minus the per-request reconnect the test transaction cannot survive
    (Django's own test client disconnects the same signal handlers)."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield WSGIHandler()
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@pytest.mark.parametrize("role", ["admin", "sales_rep"])
def test_the_api_answers_what_its_schema_says(world, in_process_wsgi, role):
    _, secret = tokens.token_create(user=world.person(role), name="fuzz", days=30)
    auth = {"Authorization": f"Token {secret}"}
    schema = schemathesis.openapi.from_wsgi(
        "/api/schema/?format=json", in_process_wsgi, headers=auth
    )
    failures, operations = [], 0
    for result in schema.get_all_operations():
        operation = result.ok()
        operations += 1
        for mode, examples in EXAMPLES.items():

            @given(case=operation.as_strategy(generation_mode=mode))
            @settings(
                max_examples=examples,
                deadline=None,
                database=None,
                derandomize=True,
                phases=[Phase.explicit, Phase.generate],
                suppress_health_check=list(HealthCheck),
            )
            def run(case):
                sid = transaction.savepoint()
                try:
                    case.call_and_validate(headers=auth, checks=CHECKS)
                finally:
                    transaction.savepoint_rollback(sid)

            try:
                run()
            except Unsatisfiable:
                # No request breaks a free-text path parameter: nothing negative to send.
                continue
            except (Exception, BaseExceptionGroup) as failure:  # noqa: BLE001 - reported below
                failures.append(f"{operation.label} ({mode.value}): {str(failure)[:1500]}")
    assert operations > 40
    assert not failures, f"{len(failures)} failing operations:\n\n" + "\n\n".join(failures)
