"""Leads coming in: by the API (one or a bulk of a thousand), CSV import, or the demo.

Idempotent on `source` + `external_id`: a lead sent again updates the one we
have (its newer values win) and sending the same data twice changes nothing
the second time. A new lead is scored against the MQL definition in force; a
qualifying one is handed to a rep at once.

Set-based: one request of a thousand leads reads which keys exist, inserts
the new leads in one `INSERT … ON CONFLICT DO NOTHING`, locks the existing
ones in one statement, hands the new MQLs to reps and writes every event in
one more (leads.machine.write). A concurrent request that inserted one of the
same leads first makes our row conflict: the INSERT waits for it to commit,
skips the row, and the lead is then updated like any existing one. So every
item gets its answer and no lead is made twice, without the unique-key error
a plain INSERT would raise.

Lock order, the same in every request and in leads.machine.transition, so
that no two transactions wait for each other in a circle: new keys (the
INSERT, in key order), then lead rows (in id order), then the teams'
round-robin cursors (in team order), then the SLA clocks (the listeners).
A qualifying lead nobody can take now is queued (leads.assignment), never lost.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from operator import attrgetter
from typing import Any

from django.db import connection, transaction
from django.db.models.expressions import RawSQL

from alignment import clock
from alignment.bulk import insert_rows, new_instance, update_rows
from alignment.models import User
from glossary.scoring import compile_definition
from glossary.selectors import definition_in_force
from leads import accounts, machine
from leads.assignment import Assigner, hand_off_data, lead_hand_off, queue_step
from leads.models import Campaign, Lead, LeadEvent
from leads.stages import Action, Stage
from leads.validation import CONTACT_FIELDS

Key = tuple[str, str]


@dataclass
class IngestResult:
    lead: Lead | None
    status: str  # "created" | "updated" | "error"
    errors: dict[str, list[str]] = field(default_factory=dict)


class Scorer:
    """The MQL definition in force, read and compiled once per request or import."""

    def __init__(self) -> None:
        self.version = definition_in_force("mql")
        self.compiled = compile_definition(self.version) if self.version else None

    def __call__(self, data: dict[str, Any]) -> tuple[int | None, dict, bool]:
        """(points, explanation, qualified) of clean lead data; None points: no definition."""
        if self.compiled is None:
            return None, {}, False
        fields = {name: data.get(name, "") for name in (*CONTACT_FIELDS, "source")}
        return self.compiled.score_stored(fields=fields, attributes=data.get("attributes", {}))

    def scored_fields(self, points: int | None, explanation: dict) -> dict[str, Any]:
        """What a new lead stores of its score: which version scored it, and why."""
        return {
            "score": points,
            "score_explanation": explanation,
            "definition_version": self.version if points is not None else None,
        }


def new_lead(data: dict[str, Any], **fields: Any) -> Lead:
    """An unsaved lead from clean data (its stage is the machine's to set).

    Made without Django's constructor (alignment.bulk.new_instance): a request of a
    thousand leads feels its per-field cost."""
    values = {
        "source": data["source"],
        "external_id": data.get("external_id", ""),
        **{name: data.get(name, "") for name in CONTACT_FIELDS},
        "attributes": data.get("attributes", {}),
        "campaign_id": data.get("campaign"),
    }
    related = {}
    for name, value in fields.items():
        if (_ATTNAMES.get(name) or _attname(name)) != name:
            related[name] = value  # an object: its id set, the object kept cached
        else:
            values[name] = value
    return new_instance(Lead, values, related)


_ATTNAMES: dict[str, str] = {}


def _attname(name: str) -> str:
    field = Lead._meta.get_field(name)
    _ATTNAMES[name] = field.attname if field.is_relation else name
    return _ATTNAMES[name]


def merge_update(lead: Lead, data: dict[str, Any], *, campaign: bool = True) -> bool:
    """A source sends a lead we know: take its newer values (its campaign too, unless
    not asked: a history import never moves a lead to its campaign). True if anything changed."""
    changed = False
    attributes = {**lead.attributes, **data.get("attributes", {})}
    if attributes != lead.attributes:
        lead.attributes = attributes
        changed = True
    for name in CONTACT_FIELDS:
        value = data.get(name, "")
        if value and value != getattr(lead, name):
            setattr(lead, name, value)
            changed = True
    if campaign and data.get("campaign") and data["campaign"] != lead.campaign_id:
        lead.campaign_id = data["campaign"]
        changed = True
    return changed


MERGED_FIELDS = ["attributes", *CONTACT_FIELDS, "campaign", "version", "updated_at"]


# One probe of the unique index per key, driven by the batch's list: with
# `source IN (…) AND external_id IN (…)` PostgreSQL read every lead of the source and
# filtered them by id (293 ms for a source of 74,000 leads, growing with it), the
# estimate of a source new since the last ANALYZE being a row or two.
_KEYS_SQL = f"""
    SELECT lead.id FROM unnest(%s::text[], %s::text[]) AS wanted (source, external_id)
    JOIN {Lead._meta.db_table} AS lead
        ON lead.source = wanted.source AND lead.external_id = wanted.external_id
    WHERE NOT lead.external_id = ''
"""  # noqa: S608 - the table's name from the model


def _by_key(keys: set[Key]):
    if connection.vendor == "postgresql":
        ordered = sorted(keys)
        wanted = [[s for s, _ in ordered], [e for _, e in ordered]]
        return Lead.objects.filter(pk__in=RawSQL(_KEYS_SQL, wanted))  # noqa: S611 - values as parameters
    # "external_id <> ''" as the unique index says, so that the lookup reads it.
    return Lead.objects.filter(
        source__in={s for s, _ in keys}, external_id__in={e for _, e in keys}
    ).exclude(external_id="")


def existing_keys(keys: set[Key]) -> set[Key]:
    """Which of these keys we have a lead for (a plain read: no lock yet)."""
    if not keys:
        return set()
    found = _by_key(keys).order_by().values_list("source", "external_id")
    return {key for key in found if key in keys}


def lock_existing(keys: set[Key]) -> dict[Key, Lead]:
    """The leads we have for these keys, locked in id order, in one statement."""
    if not keys:
        return {}
    found = _by_key(keys).select_for_update().order_by("pk")
    return {
        (lead.source, lead.external_id): lead
        for lead in found
        if (lead.source, lead.external_id) in keys
    }


def save_fields(leads: list[Lead], names: list[str]) -> None:
    """Write these fields of many saved leads in one statement."""
    if not leads:
        return
    if connection.vendor != "postgresql":
        Lead.objects.bulk_update(leads, names)
        return
    fields = ["id", *(Lead._meta.get_field(name).attname for name in names)]
    update_rows(Lead, fields, list(map(attrgetter(*fields), leads)))


def insert_new(leads: list[Lead]) -> list[Lead]:
    """Insert new leads in one statement and return those inserted (their pk set).

    A lead whose source + external id another transaction inserted first is
    skipped (ON CONFLICT DO NOTHING waits for that transaction to commit) and
    keeps pk None: the caller updates the existing one instead. Rows go in key
    order, so two requests inserting the same keys wait in one direction only.
    """
    if not leads:
        return []
    if connection.vendor != "postgresql":
        return Lead.objects.bulk_create(leads)  # one writer at a time on SQLite
    ordered = sorted(leads, key=lambda lead: (lead.source, lead.external_id))
    fields = [f.attname for f in Lead._meta.concrete_fields if not f.primary_key]
    returned = insert_rows(
        Lead,
        fields,
        list(map(attrgetter(*fields), ordered)),
        ignore_conflicts=True,
        returning=("id", "source", "external_id"),
    )
    # RETURNING follows the rows' order, without the skipped rows (only keyed
    # rows can conflict, and keys are unique within one statement).
    inserted, position = [], 0
    for lead in ordered:
        if position < len(returned) and returned[position][1:] == (lead.source, lead.external_id):
            lead.pk = lead.id = returned[position][0]
            lead._state.adding = False
            lead._state.db = connection.alias
            inserted.append(lead)
            position += 1
    return inserted


def lead_ingest(
    *, data: dict[str, Any], by: User | None, now: datetime | None = None, via: str = "api"
) -> IngestResult:
    """Create a lead from clean data (leads.validation), or update the one with the
    same source and external id. A qualifying new lead is handed off at once."""
    now = now or clock.now()
    return leads_ingest_bulk(items=[data], by=by, now=now, via=via)[0]


def leads_ingest_bulk(
    *, items: list[dict[str, Any]], by: User | None, now: datetime | None = None, via: str = "api"
) -> list[IngestResult]:
    """Ingest many clean items in one transaction, answering per item, in order."""
    now = now or clock.now()
    results: list[IngestResult | None] = [None] * len(items)
    wanted = {i["campaign"] for i in items if i.get("campaign")}
    campaigns = set(Campaign.objects.filter(pk__in=wanted).values_list("pk", flat=True))
    valid = []
    for index, item in enumerate(items):
        if item.get("campaign") and item["campaign"] not in campaigns:
            results[index] = IngestResult(None, "error", {"campaign": ["No such campaign."]})
        else:
            valid.append(index)
    with transaction.atomic():
        _Batch(items, by=by, now=now, via=via).run(valid, results)
    return results  # type: ignore[return-value]


class _Batch:
    """One request's items, from grouping to events: each step a method below."""

    def __init__(self, items: list[dict[str, Any]], *, by: User | None, now: datetime, via: str):
        self.items, self.by, self.now, self.via = items, by, now, via
        self.scorer = Scorer()
        self.assigner = Assigner()
        self.events: list[LeadEvent] = []

    def run(self, indexes: list[int], results: list) -> None:
        groups, unkeyed = self._group(indexes)
        known = existing_keys(set(groups))
        fresh = [(k, g) for k, g in groups.items() if k not in known]
        new = self._create([(self._merged(g), g) for _, g in fresh] + unkeyed, results)
        # The leads a concurrent request inserted first are ours to update now.
        lost = {k for (k, _), lead in zip(fresh, new, strict=False) if lead is None}
        existing = lock_existing(known | lost)
        self._update([(existing[k], g) for k, g in groups.items() if k in existing], results)
        self._hand_off([lead for lead in new if lead is not None])
        machine.write(self.events)
        self.assigner.save()
        self._rescore(list(existing.values()))

    def _group(self, indexes: list[int]) -> tuple[dict[Key, list[int]], list]:
        """Items by key, in order (the same lead twice in a request is one lead)."""
        groups: dict[Key, list[int]] = {}
        unkeyed = []
        for index in indexes:
            item = self.items[index]
            if item.get("external_id"):
                groups.setdefault((item["source"], item["external_id"]), []).append(index)
            else:
                unkeyed.append((item, [index]))
        return groups, unkeyed

    def _merged(self, group: list[int]) -> dict[str, Any]:
        """One lead's data from its items in one request: the later values win."""
        merged = self.items[group[0]]
        for later in group[1:]:
            merged = {
                **merged,
                **{k: v for k, v in self.items[later].items() if v},
                "attributes": {**merged["attributes"], **self.items[later]["attributes"]},
            }
        return merged

    def _create(self, new: list[tuple[dict, list[int]]], results: list) -> list[Lead | None]:
        """Score, route to a team and insert the new leads; per entry, the lead, or
        None where a concurrent request made it first."""
        leads, events = [], []
        for data, _ in new:
            points, explanation, qualified = self.scorer(data)
            lead = new_lead(
                data,
                **self.scorer.scored_fields(points, explanation),
                created_at=self.now,
                updated_at=self.now,
            )
            info = {
                "via": self.via,
                "score": points,
                "definition_version": lead.definition_version_id,
            }
            target = Stage.MQL if qualified else Stage.INQUIRY
            events.append(
                machine.step(
                    lead, Action.INGEST, by=self.by, now=self.now, target=target, data=info
                )
            )
            if target == Stage.MQL:  # its team's queue until a rep takes it (_hand_off)
                lead.team_id = self.assigner.route(lead)
            leads.append(lead)
        accounts.link_new_leads(leads, now=self.now)
        inserted = {id(lead) for lead in insert_new(leads)}
        made: list[Lead | None] = []
        for lead, event, (_, group) in zip(leads, events, new, strict=True):
            made.append(lead if id(lead) in inserted else None)
            if made[-1] is not None:
                self.events.append(event)
                for n, index in enumerate(group):
                    results[index] = IngestResult(lead, "created" if n == 0 else "updated")
        return made

    def _hand_off(self, created: list[Lead]) -> None:
        """Each new MQL to the next rep of its team, or to its team's queue (the
        organisation's, with no team): a step each, written in one statement; the
        cursors are locked after the leads (the lock order)."""
        mqls = [lead for lead in created if lead.stage == Stage.MQL]
        # Every team's and pool's cursor at once (teams, then pools, each by id), with
        # the teams of the account owners sticky rules keep leads with.
        self.assigner.lock_teams(
            {self.assigner.target(lead) for lead in mqls}
            | {self.assigner.sticky_team(lead) for lead in mqls}
        )
        for lead in mqls:
            changes = self.assigner.hand_off_changes(lead, self.now)
            explanation = self.assigner.explain(changes["team_id"], changes["owner"], lead)
            if changes["owner"] is None:
                # Nobody can take it now: it waits in the queue under an assignment clock.
                step = queue_step(
                    lead, team_id=changes["team_id"], now=self.now, explanation=explanation
                )
            else:
                step = machine.step(
                    lead,
                    Action.HAND_OFF,
                    by=None,
                    now=self.now,
                    changes=changes,
                    data=hand_off_data(changes, explanation),
                )
            self.events.append(step)
        save_fields(mqls, ["owner", "team", "handed_off_at", "queued_at", "version", "updated_at"])

    def _update(self, known: list[tuple[Lead, list[int]]], results: list) -> None:
        changed = []
        for lead, group in known:
            # Every item of the group merges (no short-circuit): the later values win.
            if [merge_update(lead, self.items[index]) for index in group].count(True):
                self.events.append(
                    machine.step(
                        lead, Action.UPDATE, by=self.by, now=self.now, data={"via": self.via}
                    )
                )
                changed.append(lead)
            for index in group:
                results[index] = IngestResult(lead, "updated")
        save_fields(changed, MERGED_FIELDS)

    def _rescore(self, known: list[Lead]) -> None:
        """An updated inquiry may qualify on its new data (one by one: rare)."""
        if self.scorer.compiled is None:
            return
        for lead in known:
            if lead.stage != Stage.INQUIRY:
                continue
            data = {n: getattr(lead, n) for n in CONTACT_FIELDS}
            points, explanation, qualified = self.scorer(
                {**data, "source": lead.source, "attributes": lead.attributes}
            )
            if qualified:
                machine.transition(
                    lead=lead,
                    action=Action.RESCORE,
                    by=self.by,
                    now=self.now,
                    locked=True,
                    changes=self.scorer.scored_fields(points, explanation),
                    data={"score": points, "definition_version": self.scorer.version.pk},
                )
                lead_hand_off(lead=lead, now=self.now)
