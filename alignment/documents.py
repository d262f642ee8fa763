"""What every document both sides co-sign is made of, defined once.

A co-signed document is versioned: each version moves draft -> proposed ->
agreed (in force) -> superseded, and back from proposed to draft when a manager
sends it back. A version carries its status, a revision that every edit bumps
(a signature holds the revision it read), and the moments it moved. Its
signatures say which side signed, who, when and which revision; its history
events say who did what. Lead definitions (glossary), service-level agreements
(sla) and the message platform (glossary) are the uses; what is particular to
each (scoring rules; goals and commitments; messages per persona) stays in its
app, on top of these abstract models. The rules of signing are alignment.cosign;
the database guards (frozen when agreed, append-only) are alignment.dbguards.

Abstract models: each use keeps its own table (no table changed when the two
first uses moved onto these); the one-in-force and one-signature-per-side
constraints are built here by name for each.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q


class Status(models.TextChoices):
    DRAFT = "draft", "Draft"
    PROPOSED = "proposed", "Proposed"
    AGREED = "agreed", "In force"
    SUPERSEDED = "superseded", "Superseded"


class Side(models.TextChoices):
    MARKETING = "marketing", "Marketing"
    SALES = "sales", "Sales"


class EventKind(models.TextChoices):
    CREATED = "created", "Drafted"
    EDITED = "edited", "Edited"
    PROPOSED = "proposed", "Proposed for signature"
    SIGNED = "signed", "Signed"
    SENT_BACK = "sent_back", "Sent back"
    AGREED = "agreed", "Came into force"
    SUPERSEDED = "superseded", "Superseded"
    DRAFT_DISCARDED = "draft_discarded", "A draft based on it was discarded"


class CosignedVersion(models.Model):
    """One version of a co-signed document. Only alignment.cosign and the app's services
    change `status`; `revision` catches an edit racing a signature."""

    status = models.CharField(max_length=20, choices=Status.choices, default=Status.DRAFT)
    revision = models.PositiveIntegerField(default=1)
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField()
    proposed_at = models.DateTimeField(null=True, blank=True)
    agreed_at = models.DateTimeField(null=True, blank=True)
    superseded_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        abstract = True

    @property
    def is_editable(self) -> bool:
        return self.status == Status.DRAFT

    @property
    def is_frozen(self) -> bool:
        """Agreed and superseded versions are history: never edited."""
        return self.status in (Status.AGREED, Status.SUPERSEDED)

    def index_url(self) -> str:
        """The page that lists this document's versions, where a discarded draft's author
        goes next."""
        raise NotImplementedError


def one_in_force(*, fields: list[str], name: str) -> models.UniqueConstraint:
    """At most one version agreed per `fields` (the document's identity)."""
    return models.UniqueConstraint(fields=fields, condition=Q(status=Status.AGREED), name=name)


class CosignedSignature(models.Model):
    """One side's signature on one version; the version's foreign key is the use's own."""

    side = models.CharField(max_length=20, choices=Side.choices)
    signed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    signed_at = models.DateTimeField()
    revision = models.PositiveIntegerField(help_text="The version's revision that was signed.")

    class Meta:
        abstract = True
        ordering = ["signed_at"]

    def __str__(self) -> str:
        return f"{self.get_side_display()} signature on {self.version_label()}"

    def version_label(self) -> str:
        """The version signed: the foreign key besides the signer's."""
        owner = next(f for f in self._meta.fields if f.many_to_one and f.name != "signed_by")
        return str(getattr(self, owner.name))


class CosignedEvent(models.Model):
    """History of a version: who did what, when, and why; the version's foreign key is
    the use's own."""

    kind = models.CharField(max_length=20, choices=EventKind.choices)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    at = models.DateTimeField()
    comment = models.TextField(blank=True)
    data = models.JSONField(default=dict, blank=True)

    class Meta:
        abstract = True
        ordering = ["at", "id"]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} at {self.at:%Y-%m-%d %H:%M}"


def signature_constraints(*, owner: str, prefix: str) -> list[models.UniqueConstraint]:
    """One signature per side, and four eyes: one person never signs one version twice."""
    return [
        models.UniqueConstraint(fields=[owner, "side"], name=f"{prefix}_one_signature_side"),
        models.UniqueConstraint(
            fields=[owner, "signed_by"], name=f"{prefix}_signatures_by_two_people"
        ),
    ]
