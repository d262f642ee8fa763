"""alignment.bulk.new_instance makes what the model's constructor makes."""

import pytest
from django.db.models.signals import post_init

from alignment.bulk import new_instance
from alignment.models import AuditEntry, WebhookEndpoint


def _fields(instance) -> dict:
    return {k: v for k, v in instance.__dict__.items() if k != "_state"}


def test_a_new_instance_holds_what_the_constructor_would_give_it():
    values = {"action": "lead.accept", "actor_id": 7, "changes": {"stage": "sal"}}
    made, built = new_instance(AuditEntry, values), AuditEntry(**values)
    assert _fields(made) == _fields(built)
    assert made.pk is None
    assert made._state.adding
    assert made._state.db is None


def test_mutable_defaults_are_never_shared_between_instances():
    first, second = new_instance(WebhookEndpoint, {}), new_instance(WebhookEndpoint, {})
    first.event_types.append("lead.created")
    assert second.event_types == []


def test_an_unknown_name_is_refused_as_the_constructor_refuses_it():
    with pytest.raises(TypeError, match="actor"):
        new_instance(AuditEntry, {"actor": None})  # the attribute name is actor_id


def test_an_init_listener_still_hears_of_every_instance():
    heard = []

    def listen(*, instance, **_):
        heard.append(instance)

    post_init.connect(listen, sender=AuditEntry)
    try:
        made = new_instance(AuditEntry, {"action": "x"})
    finally:
        post_init.disconnect(listen, sender=AuditEntry)
    assert heard == [made]
