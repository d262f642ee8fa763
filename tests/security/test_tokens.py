"""API tokens: hashed at rest, expiring, revocable by their owner on a page of their own."""

import hashlib
from datetime import timedelta

import pytest
import time_machine
from django.core.exceptions import ValidationError
from django.db import connection
from django.test import Client, RequestFactory

from alignment import clock, tokens
from alignment.models import ApiToken, AuditEntry


def api(secret: str):
    return Client().get("/api/v1/glossary/stages/", HTTP_AUTHORIZATION=f"Token {secret}")


def test_a_token_opens_the_api_and_only_its_hash_is_stored(world):
    token, secret = tokens.token_create(user=world.person("sales_rep"), name="CRM sync")
    assert api(secret).status_code == 200
    assert token.digest == hashlib.sha256(secret.encode()).hexdigest()
    with connection.cursor() as cursor:
        cursor.execute("SELECT * FROM alignment_apitoken")
        stored = " ".join(str(cell) for row in cursor.fetchall() for cell in row)
    assert secret not in stored
    assert secret[len(tokens.PREFIX) :] not in stored


def test_a_wrong_or_missing_token_is_a_401_that_names_the_scheme(world):
    response = api("aln_not-a-real-token")
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == "Token"
    assert Client().get("/api/v1/glossary/stages/").status_code == 401


def test_a_token_stops_working_when_it_expires(world):
    _, secret = tokens.token_create(user=world.person("sales_rep"), name="short", days=30)
    with time_machine.travel(clock.now() + timedelta(days=29), tick=False):
        assert api(secret).status_code == 200
    with time_machine.travel(clock.now() + timedelta(days=31), tick=False):
        assert api(secret).status_code == 401


def test_no_token_lives_forever_or_unnamed(world):
    with pytest.raises(ValidationError) as refused:
        tokens.token_create(user=world.person("sales_rep"), name="", days=10_000)
    assert set(refused.value.message_dict) == {"name", "days"}


def test_the_page_shows_a_new_token_once(world):
    client = Client()
    client.force_login(world.person("marketer"))
    created = client.post("/tokens/", {"name": "Webinar import", "days": "30"})
    assert created.status_code == 200
    secret = created.context["secret"]
    assert secret.startswith("aln_")
    assert secret in created.content.decode()
    assert api(secret).status_code == 200
    again = client.get("/tokens/")
    assert "Webinar import" in again.content.decode()
    assert secret not in again.content.decode()


def test_a_bad_token_request_on_the_page_is_a_400_naming_the_field(world):
    client = Client()
    client.force_login(world.person("marketer"))
    response = client.post("/tokens/", {"name": "", "days": "forever"})
    assert response.status_code == 400
    assert set(response.context["errors"]) == {"name", "days"}
    assert not ApiToken.objects.filter(user=world.person("marketer")).exists()


def test_revoking_asks_first_then_the_token_stops_working(world):
    token, secret = tokens.token_create(user=world.person("sales_rep"), name="old script")
    client = Client()
    client.force_login(world.person("sales_rep"))
    confirm = client.get(f"/tokens/{token.pk}/revoke/")
    assert confirm.status_code == 200
    assert "cannot be undone" in confirm.content.decode()
    assert api(secret).status_code == 200  # asking changed nothing
    assert client.post(f"/tokens/{token.pk}/revoke/").status_code == 302
    assert api(secret).status_code == 401
    assert list(
        AuditEntry.objects.filter(
            target_type="alignment.apitoken", target_id=str(token.pk)
        ).values_list("action", flat=True)
    ) == ["token.revoke", "token.create"]


def test_nobody_revokes_someone_elses_token(world):
    token, secret = tokens.token_create(user=world.person("sales_rep"), name="mine")
    for role in ("other_rep", "sales_manager", "admin"):
        client = Client()
        client.force_login(world.person(role))
        assert client.post(f"/tokens/{token.pk}/revoke/").status_code == 403
    assert api(secret).status_code == 200


def test_an_authentication_is_one_query(world, count_queries):
    _, secret = tokens.token_create(user=world.person("sales_rep"), name="fast")
    auth = tokens.ApiTokenAuthentication()
    request = RequestFactory().get("/api/v1/leads/", HTTP_AUTHORIZATION=f"Token {secret}")
    assert count_queries(lambda: auth.authenticate(request)) == 1


def test_the_token_page_costs_the_same_for_many_tokens(world, count_queries):
    client = Client()
    rep = world.person("other_rep")
    client.force_login(rep)
    tokens.token_create(user=rep, name="one")
    few = count_queries(lambda: client.get("/tokens/"))
    for n in range(20):
        tokens.token_create(user=rep, name=f"script {n}")
    assert count_queries(lambda: client.get("/tokens/")) == few
    assert few <= 8
