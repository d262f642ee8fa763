"""Routing rules: an ordered list, first match wins, over any lead field or attribute,
each sending its leads to a sales team or a named pool of reps (whose weighted round
robin picks the rep), with a catch-all last; a rule may give its leads only to reps
on shift (inside their working hours).

Versioned: saving the rules makes a new version (the newest is in force) and an
audit row. Refused at save time, naming the rule: a rule that can never match
(an empty list, a range whose low end is above its high end), one hidden by an
earlier rule (every lead it would match goes to the earlier one), anything after
the catch-all, no catch-all, or a rule sending to a pool with no active rep.
Warned: a rule whose team has no active rep (its leads would all wait in the queue).

Territories were the first rules: with no version saved yet, a lead goes to the
team covering its country (leads.Territory, "*" for every other country).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Count, Q

from alignment import audit, clock
from alignment.models import Side, Team, User
from alignment.roles import ROLE_NAMES, Role, perm
from leads.models import RepPool, RoutingRule, RoutingVersion, RuleOperator, Territory

# The lead's own fields a rule may read (anything else is an attribute).
LEAD_FIELDS = (
    "source",
    "email",
    "first_name",
    "last_name",
    "company",
    "title",
    "country",
    "phone",
    "score",
    "campaign",
)
MAX_RULES = 200
MAX_VALUES = 500


def lead_view(fields: Mapping[str, Any], attributes: Mapping[str, Any]) -> dict[str, Any]:
    """What rules read of a lead, built once per lead: its attributes by lowercased
    name (a rule's attribute name is case-insensitive), then its own fields."""
    view = {str(k).lower(): v for k, v in attributes.items()}
    view.update({name: fields.get(name) for name in LEAD_FIELDS})
    return view


def _text(value: Any) -> str:
    return "" if value is None else str(value).strip().lower()


def _number(value: Any) -> float | None:
    try:
        return float(str(value).strip())
    except (TypeError, ValueError):
        return None


@dataclass(frozen=True)
class Rule:
    """A rule compiled for matching (from a saved row or from a form's draft)."""

    name: str
    field: str
    operator: str
    values: tuple
    team_id: int | None
    position: int = 0
    pool_id: int | None = None
    on_shift: bool = False
    # Keep a lead with its account's (or duplicate's) owner when they can take it.
    sticky: bool = False
    _set: frozenset = field(default=frozenset(), compare=False)
    _key: str = field(default="", compare=False)  # the field, lowercased, as leads are read

    @classmethod
    def of(
        cls,
        *,
        name,
        field,
        operator,
        values,
        team_id,
        position=0,
        pool_id=None,
        on_shift=False,
        sticky=False,
    ) -> Rule:
        words = frozenset(_text(v) for v in values) if operator in ("equals", "in") else frozenset()
        key = field if field in LEAD_FIELDS else field.lower()
        return cls(
            name,
            field,
            operator,
            tuple(values),
            team_id,
            position,
            pool_id,
            on_shift,
            bool(sticky),
            words,
            key,
        )

    @property
    def target(self) -> int | tuple[str, int]:
        """Whose round robin picks the rep: the team's id, or ("pool", the pool's id)."""
        return ("pool", self.pool_id) if self.pool_id else self.team_id

    def matches(self, lead: Mapping[str, Any]) -> bool:
        """`lead`: a lead as `lead_view` reads it (its fields, and its attributes by
        lowercased name), built once per lead for all the rules."""
        if self.operator == RuleOperator.ANY:
            return True
        value = lead.get(self._key)
        if self.operator == RuleOperator.PRESENT:
            return _text(value) != ""
        if self.operator in (RuleOperator.EQUALS, RuleOperator.IN):
            return _text(value) in self._set
        number = _number(value)
        if number is None:
            return False
        low, high = self.values
        return (low is None or number >= low) and (high is None or number <= high)

    def describe(self) -> str:
        if self.operator == RuleOperator.ANY:
            return "every lead"
        if self.operator == RuleOperator.PRESENT:
            return f"{self.field} is filled in"
        if self.operator == RuleOperator.RANGE:
            low, high = ("…" if v is None else f"{v:g}" for v in self.values)
            return f"{self.field} between {low} and {high}"
        return f"{self.field} {RuleOperator(self.operator).label} " + ", ".join(
            str(v) for v in self.values
        )


def rules_in_force() -> tuple[RoutingVersion | None, list[Rule]]:
    """The newest version and its rules; (None, the territories as rules) if none saved."""
    version = RoutingVersion.objects.order_by("-number").first()
    if version is None:
        return None, territory_rules()
    return version, [
        Rule.of(
            name=r.name,
            field=r.field,
            operator=r.operator,
            values=r.values,
            team_id=r.team_id,
            position=r.position,
            pool_id=r.pool_id,
            on_shift=r.on_shift_only,
            sticky=r.keep_with_account_owner,
        )
        for r in version.rules.order_by("position")
    ]


def territory_rules() -> list[Rule]:
    """The territories as rules: one per team over its countries, "*" as the catch-all."""
    by_team: dict[int, list[str]] = {}
    rest = None
    for country, team_id in Territory.objects.order_by("country").values_list("country", "team"):
        if country == "*":
            rest = team_id
        else:
            by_team.setdefault(team_id, []).append(country)
    rules = [
        Rule.of(
            name=f"Territory {n + 1}",
            field="country",
            operator=RuleOperator.IN,
            values=countries,
            team_id=team_id,
            position=n,
        )
        for n, (team_id, countries) in enumerate(sorted(by_team.items()))
    ]
    if rest is not None:
        rules.append(
            Rule.of(
                name="Every other country",
                field="",
                operator=RuleOperator.ANY,
                values=(),
                team_id=rest,
                position=len(rules),
            )
        )
    return rules


def first_match(
    rules: list[Rule], fields: Mapping[str, Any], attributes: Mapping[str, Any]
) -> Rule | None:
    view = lead_view(fields, attributes)
    return next((r for r in rules if r.matches(view)), None)


# -- saving ------------------------------------------------------------------------------


@dataclass
class Checked:
    rules: list[Rule]
    warnings: list[str]


def _hides(earlier: Rule, later: Rule) -> bool:
    """Every lead `later` matches, `earlier` matches first."""
    if earlier.operator == RuleOperator.ANY:
        return True
    if later.operator == RuleOperator.ANY or earlier.field.lower() != later.field.lower():
        return False
    if earlier.operator == RuleOperator.PRESENT:
        return True  # every value the later rule could match is filled in
    if earlier.operator in ("equals", "in") and later.operator in ("equals", "in"):
        return later._set <= earlier._set
    if earlier.operator == later.operator == RuleOperator.RANGE:
        (el, eh), (ll, lh) = earlier.values, later.values
        low_ok = el is None or (ll is not None and ll >= el)
        high_ok = eh is None or (lh is not None and lh <= eh)
        return low_ok and high_ok
    return False


def _clean_values(operator: str, raw: Any, errors: dict, key: str) -> tuple:
    if isinstance(raw, str):
        raw = [part for part in (p.strip() for p in raw.split(",")) if part]
    if raw is None:
        raw = []
    if not isinstance(raw, list | tuple) or len(raw) > MAX_VALUES:
        errors[key] = [f"A list of at most {MAX_VALUES} values."]
        return ()
    if operator in (RuleOperator.ANY, RuleOperator.PRESENT):
        return ()
    if operator == RuleOperator.EQUALS:
        if len(raw) != 1 or _text(raw[0]) == "":
            errors[key] = ["One value to equal."]
        return tuple(str(v).strip()[:200] for v in raw[:1])
    if operator == RuleOperator.IN:
        values = tuple(str(v).strip()[:200] for v in raw if _text(v))
        if not values:
            errors[key] = ["At least one value: with none the rule never matches."]
        return values
    if len(raw) != 2:
        errors[key] = ["A range is two numbers, low and high (leave one blank for open)."]
        return (None, None)
    low, high = (None if _text(v) == "" else _number(v) for v in raw)
    if (_text(raw[0]) and low is None) or (_text(raw[1]) and high is None):
        errors[key] = ["The range's ends are numbers."]
    elif low is None and high is None:
        errors[key] = ["Give a low end, a high end or both."]
    elif low is not None and high is not None and low > high:
        errors[key] = [f"From {low:g} to {high:g} never matches: the low end is above the high."]
    return (low, high)


def _id(value: Any) -> int | None:
    return int(value) if str(value or "").strip().isdigit() else None


def _pools() -> dict[int, RepPool]:
    """The pools a rule may send to, each with `reps`: its active sales reps."""
    return {
        p.pk: p
        for p in RepPool.objects.filter(deleted_at__isnull=True).annotate(
            reps=Count(
                "members",
                filter=Q(
                    members__is_active=True,
                    members__groups__name=ROLE_NAMES[Role.SALES_REP],
                ),
                distinct=True,
            )
        )
    }


def _target(row: Mapping, key: str, teams: dict, pools: dict, errors: dict) -> tuple | None:
    """(team id, pool id) of a row, exactly one set; None (and an error) otherwise. A
    pool with no active rep is refused, naming the rule: none of its leads would move."""
    team_id, pool_id = _id(row.get("team")), _id(row.get("pool"))
    if (team_id is None) == (pool_id is None):
        errors[f"{key}.team"] = ["A sales team or a pool (one of them)."]
        return None
    if team_id is not None and team_id not in teams:
        errors[f"{key}.team"] = ["A sales team."]
        return None
    if pool_id is not None:
        if pool_id not in pools:
            errors[f"{key}.pool"] = ["A pool of reps (not deleted)."]
            return None
        if pools[pool_id].reps == 0:
            name = str(row.get("name") or "").strip() or key
            errors[f"{key}.pool"] = [
                f"“{name}” sends leads to {pools[pool_id]}, which has no active rep: "
                "add reps to the pool or choose another target."
            ]
            return None
    return team_id, pool_id


# Long: every check a rule list must pass at save time, in the order the person
# reads the errors (each names its rule); each check is two to five lines.
def check_rules(rows: list[Mapping[str, Any]]) -> Checked:
    """Clean rows ({name, field, operator, values, team or pool, on_shift}) into rules,
    or raise a ValidationError keyed `rules[i].name`. Warnings: what saves but deserves
    a look."""
    errors: dict[str, list[str]] = {}
    if not isinstance(rows, list) or not rows:
        raise ValidationError({"rules": ["At least one rule: the catch-all."]})
    if len(rows) > MAX_RULES:
        raise ValidationError({"rules": [f"At most {MAX_RULES} rules."]})
    teams = {
        t.pk: t
        for t in Team.objects.filter(side=Side.SALES).annotate(
            reps=Count(
                "members",
                filter=Q(
                    members__is_active=True,
                    members__groups__name=ROLE_NAMES[Role.SALES_REP],
                ),
            )
        )
    }
    pools = _pools()
    rules: list[Rule] = []
    warnings: list[str] = []
    for n, row in enumerate(rows):
        key = f"rules[{n}]"
        if not isinstance(row, Mapping):
            errors[key] = ["Each rule is an object."]
            continue
        name = str(row.get("name") or "").strip()
        if not name or len(name) > 100:
            errors[f"{key}.name"] = ["A name of at most 100 characters."]
        operator = str(row.get("operator") or "")
        if operator not in RuleOperator.values:
            errors[f"{key}.operator"] = [f"One of {', '.join(RuleOperator.values)}."]
            continue
        field_name = str(row.get("field") or "").strip()
        if operator != RuleOperator.ANY and not field_name:
            errors[f"{key}.field"] = ["Which lead field or attribute the rule reads."]
        if len(field_name) > 100:
            errors[f"{key}.field"] = ["At most 100 characters."]
        values = _clean_values(operator, row.get("values"), errors, f"{key}.values")
        target = _target(row, key, teams, pools, errors)
        if target is None:
            continue
        team_id, pool_id = target
        rule = Rule.of(
            name=name,
            field=field_name if operator != RuleOperator.ANY else "",
            operator=operator,
            values=values,
            team_id=team_id,
            position=n,
            pool_id=pool_id,
            on_shift=str(row.get("on_shift") or "").lower() in ("1", "true", "on", "yes"),
            sticky=str(row.get("sticky") or "").lower() in ("1", "true", "on", "yes"),
        )
        hidden_by = next((r for r in rules if _hides(r, rule)), None)
        if hidden_by is not None:
            errors.setdefault(f"{key}.name", []).append(
                f"“{name}” never gets a lead: “{hidden_by.name}” above it takes every lead "
                "it would match. Move it up, or remove it."
            )
        if team_id is not None and teams[team_id].reps == 0:
            warnings.append(
                f"“{name}” sends leads to {teams[team_id]}, which has no active rep: "
                "they will wait in its queue."
            )
        rules.append(rule)
    if rules and not errors and rules[-1].operator != RuleOperator.ANY:
        errors["rules"] = ["The last rule must be the catch-all (every lead), so none is lost."]
    if errors:
        raise ValidationError(errors)
    return Checked(rules, warnings)


def can_edit(user: User) -> bool:
    return user.has_perm(perm("manage_organisation")) or user.has_perm(perm("sign_for_sales"))


def rules_save(
    *, by: User, rows: list[Mapping[str, Any]], note: str = "", now: datetime | None = None
) -> tuple[RoutingVersion, list[str]]:
    """Save the rules as a new version (in force at once) and audit it. Only an admin or
    a sales manager may. Returns the version and the warnings."""
    if not can_edit(by):
        raise PermissionDenied("Only an admin or a sales manager edits the routing rules.")
    checked = check_rules(rows)
    now = now or clock.now()
    with transaction.atomic():
        # Two saves at once: the version number's unique key makes one wait and fail
        # cleanly rather than both becoming "newest".
        last = RoutingVersion.objects.select_for_update().order_by("-number").first()
        number = (last.number if last else 0) + 1
        version = RoutingVersion.objects.create(
            number=number, created_by=by, created_at=now, note=str(note or "")[:200]
        )
        RoutingRule.objects.bulk_create(
            [
                RoutingRule(
                    version=version,
                    position=n,
                    name=r.name,
                    field=r.field,
                    operator=r.operator,
                    values=list(r.values),
                    team_id=r.team_id,
                    pool_id=r.pool_id,
                    on_shift_only=r.on_shift,
                    keep_with_account_owner=r.sticky,
                )
                for n, r in enumerate(checked.rules)
            ]
        )
        audit.record(
            by=by,
            action="routing.saved",
            target=version,
            changes={"rules": [len(last.rules.all()) if last else 0, len(checked.rules)]},
            note=note,
        )
    return version, checked.warnings


def lead_fields(lead) -> dict[str, Any]:
    """A lead's own fields as rules read them."""
    fields = {name: getattr(lead, name, "") for name in LEAD_FIELDS if name != "campaign"}
    fields["campaign"] = lead.campaign_id
    return fields
