import factory

from glossary import services
from glossary.models import FunnelStage, RejectionReason, StageSide, Term


class StageFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = FunnelStage
        django_get_or_create = ("key",)

    key = "mql"
    name = factory.LazyAttribute(lambda s: s.key.upper())
    side = StageSide.MARKETING
    position = factory.Sequence(lambda n: n * 10)
    is_qualifying = True


class ReasonFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = RejectionReason

    code = factory.Sequence(lambda n: f"reason_{n}")
    label = factory.Sequence(lambda n: f"Reason {n}")


class TermFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Term

    name = factory.Sequence(lambda n: f"Term {n}")
    slug = factory.Sequence(lambda n: f"term-{n}")
    definition = "Something both sides agree on."


RULES = [
    {
        "label": "Referred",
        "field": "Lead Source",
        "operator": "in",
        "value": ["Reference", "Welingak Website"],
        "points": 30,
        "kind": "fit",
    },
    {
        "label": "Long visit",
        "field": "Total Time Spent on Website",
        "operator": "greater_than",
        "value": 600,
        "points": 20,
        "kind": "behaviour",
    },
    {
        "label": "Has email",
        "field": "email",
        "operator": "present",
        "value": None,
        "points": 10,
        "kind": "fit",
    },
]


def draft(stage, by, **changes):
    changes.setdefault("rules", RULES)
    changes.setdefault("threshold", 30)
    return services.draft_create(stage=stage, by=by, **changes)


def proposal(stage, by, **changes):
    version = draft(stage, by, **changes)
    return services.draft_propose(version=version, by=by, expected_revision=version.revision)


def agreed(stage, org, **changes):
    """A version in force, signed by maya (marketing) and sam (sales) through the services."""
    version = proposal(stage, org["leo"], **changes)
    version = services.proposal_sign(
        version=version, by=org["maya"], expected_revision=version.revision
    )
    return services.proposal_sign(
        version=version, by=org["sam"], expected_revision=version.revision
    )
