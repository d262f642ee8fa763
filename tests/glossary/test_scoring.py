import json
import random

import pytest
from django.core.exceptions import ValidationError
from hypothesis import given
from hypothesis import strategies as st

from glossary.scoring import CompiledDefinition, clean_definition, normalise, score

RULES = [
    {
        "label": "Referred",
        "field": "Lead Source",
        "operator": "in",
        "value": ["Reference", "Welingak Website"],
        "points": 30,
    },
    {
        "label": "Long visit",
        "field": "Total Time Spent on Website",
        "operator": "greater_than",
        "value": 600,
        "points": 20,
    },
    {
        "label": "Many visits",
        "field": "TotalVisits",
        "operator": "between",
        "value": [5, 20],
        "points": 5,
    },
    {
        "label": "Professional",
        "field": "What is your current occupation",
        "operator": "equals",
        "value": "Working Professional",
        "points": 15,
    },
    {
        "label": "Chat only",
        "field": "Last Activity",
        "operator": "contains",
        "value": "chat",
        "points": -10,
    },
    {
        "label": "Not India",
        "field": "country",
        "operator": "not_equals",
        "value": "India",
        "points": 3,
    },
    {"label": "Has phone", "field": "phone", "operator": "present", "points": 2},
    {"label": "No email", "field": "email", "operator": "absent", "points": -5},
    {
        "label": "Few pages",
        "field": "Page Views Per Visit",
        "operator": "less_than",
        "value": 2,
        "points": -1,
    },
]


def test_text_numbers_compare_as_numbers():
    result = score(RULES, 0, fields={}, attributes={"Total Time Spent on Website": "674"})
    assert result.explanation[1]["points"] == 20
    result = score(RULES, 0, fields={}, attributes={"Page Views Per Visit": "1.5"})
    assert result.explanation[8]["matched"] is True


def test_text_compares_case_insensitively_and_ignores_spaces():
    result = score(
        RULES, 0, fields={}, attributes={"What is your current occupation": " working professional"}
    )
    assert result.explanation[3]["points"] == 15


def test_select_placeholder_and_blanks_count_as_absent():
    assert normalise("Select") is None
    assert normalise("  ") is None
    assert normalise(None) is None
    result = score(RULES, 0, fields={"email": "Select", "phone": ""}, attributes={})
    assert result.explanation[6]["matched"] is False  # phone present
    assert result.explanation[7]["matched"] is True  # email absent


def test_absent_values_never_match_not_equals():
    result = score(RULES, 0, fields={"country": ""}, attributes={})
    assert result.explanation[5]["matched"] is False
    result = score(RULES, 0, fields={"country": "Germany"}, attributes={})
    assert result.explanation[5]["matched"] is True


def test_lead_fields_come_from_fields_and_the_rest_from_attributes():
    rules = [{"field": "country", "operator": "equals", "value": "India", "points": 5}]
    assert score(rules, 0, fields={}, attributes={"country": "India"}).points == 0
    assert score(rules, 0, fields={"country": "India"}, attributes={}).points == 5


def test_in_matches_numbers_given_as_text():
    rules = [{"field": "Score", "operator": "in", "value": ["5", "7"], "points": 1}]
    assert score(rules, 0, fields={}, attributes={"Score": 5.0}).points == 1
    assert score(rules, 0, fields={}, attributes={"Score": "6"}).points == 0


def test_between_is_inclusive():
    rules = [{"field": "v", "operator": "between", "value": [5, 10], "points": 1}]
    assert [score(rules, 0, fields={}, attributes={"v": v}).points for v in (4, 5, 10, 11)] == [
        0,
        1,
        1,
        0,
    ]


def test_a_lead_qualifies_at_the_threshold_with_all_required_fields():
    attributes = {"Lead Source": "Reference", "Total Time Spent on Website": "900"}
    result = score(RULES, 50, ["Lead Source"], fields={"email": "a@b.c"}, attributes=attributes)
    assert result.points == 50
    assert result.qualified is True
    assert result.missing_required == []


def test_a_missing_required_field_stops_qualification_whatever_the_score():
    attributes = {"Lead Source": "Reference", "Total Time Spent on Website": "900"}
    result = score(RULES, 10, ["budget_status"], fields={"email": "a@b.c"}, attributes=attributes)
    assert result.qualified is False
    assert result.missing_required == ["budget_status"]


def test_the_explanation_is_json_and_names_each_rule():
    result = score(RULES, 10, fields={}, attributes={"Lead Source": "reference"})
    data = json.loads(json.dumps(result.as_dict()))
    assert data["explanation"][0] == {
        "label": "Referred",
        "field": "Lead Source",
        "operator": "in",
        "value": ["Reference", "Welingak Website"],
        "matched": True,
        "points": 30,
    }
    assert len(data["explanation"]) == len(RULES)


@pytest.mark.parametrize(
    ("rule", "key", "message"),
    [
        (
            {"field": "x", "operator": "like", "value": "a", "points": 1},
            "rules[0].operator",
            'unknown operator "like"',
        ),
        (
            {"field": "x", "operator": "in", "value": 5, "points": 1},
            "rules[0].value",
            '"in" needs a list',
        ),
        (
            {"field": "x", "operator": "greater_than", "value": "many", "points": 1},
            "rules[0].value",
            '"greater_than" needs a number',
        ),
        (
            {"field": "x", "operator": "between", "value": [9, 1], "points": 1},
            "rules[0].value",
            "low <= high",
        ),
        (
            {"field": "", "operator": "equals", "value": "a", "points": 1},
            "rules[0].field",
            "name a lead field",
        ),
        (
            {"field": "x", "operator": "equals", "value": "a", "points": 0},
            "rules[0].points",
            "0 points",
        ),
        (
            {"field": "x", "operator": "present", "value": "a", "points": 1},
            "rules[0].value",
            "takes no value",
        ),
    ],
)
def test_invalid_rules_are_refused_with_a_message_naming_the_rule(rule, key, message):
    with pytest.raises(ValidationError) as caught:
        clean_definition(rules=[rule], threshold=0, required_fields=[])
    assert key in caught.value.message_dict
    assert message in caught.value.message_dict[key][0]


def test_a_threshold_no_lead_can_reach_is_refused():
    rules = [
        {"field": "a", "operator": "present", "points": 10},
        {"field": "b", "operator": "present", "points": -50},
    ]
    with pytest.raises(ValidationError) as caught:
        clean_definition(rules=rules, threshold=11, required_fields=[])
    assert caught.value.message_dict["threshold"] == [
        "no lead can reach 11: the rules give at most 10 points"
    ]


def test_the_error_index_points_at_the_rule_that_is_wrong():
    rules = [{"field": "a", "operator": "present", "points": 10}] * 3 + [
        {"field": "d", "operator": "in", "value": 3, "points": 1}
    ]
    with pytest.raises(ValidationError) as caught:
        clean_definition(rules=rules, threshold=0, required_fields=[])
    assert list(caught.value.message_dict) == ["rules[3].value"]


def test_clean_definition_reads_numbers_and_lists_typed_as_text():
    rules, threshold, required = clean_definition(
        rules=[
            {"field": "a", "operator": "greater_than", "value": "2.5", "points": "3"},
            {"field": "b", "operator": "in", "value": "x, y", "points": 1},
        ],
        threshold="4",
        required_fields="a, b, a",
    )
    assert rules[0]["value"] == 2.5
    assert rules[0]["points"] == 3
    assert rules[1]["value"] == ["x", "y"]
    assert threshold == 4
    assert required == ["a", "b"]


# -- properties ----------------------------------------------------------------

values = st.one_of(
    st.none(),
    st.text(max_size=12),
    st.integers(-1000, 1000),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from(["Select", "", "Reference", "India", "5", "2.5", "chat"]),
)
rule_fields = [r["field"] for r in RULES]
attributes_strategy = st.dictionaries(st.sampled_from(rule_fields), values, max_size=len(RULES))


@given(attributes=attributes_strategy, seed=st.integers(0, 2**32))
def test_the_score_never_depends_on_attribute_order(attributes, seed):
    items = list(attributes.items())
    random.Random(seed).shuffle(items)
    definition = CompiledDefinition(RULES, 20, ["Lead Source"])
    assert definition.score(fields={}, attributes=attributes) == definition.score(
        fields={}, attributes=dict(items)
    )


@given(
    attributes=attributes_strategy,
    unknown=st.dictionaries(
        st.text(min_size=1, max_size=20).filter(lambda k: k not in rule_fields), values
    ),
)
def test_unknown_attributes_score_nothing(attributes, unknown):
    definition = CompiledDefinition(RULES, 20)
    assert definition.score(fields={}, attributes={**unknown, **attributes}) == definition.score(
        fields={}, attributes=attributes
    )


@given(attributes=attributes_strategy)
def test_the_points_are_the_sum_of_the_explanation(attributes):
    result = CompiledDefinition(RULES, 20).score(fields={}, attributes=attributes)
    assert result.points == sum(line["points"] for line in result.explanation)
    assert result.qualified == (result.points >= 20)


lead_fields_strategy = st.fixed_dictionaries(
    {},
    optional=dict.fromkeys(("email", "phone", "country", "source"), values),
)


@given(attributes=attributes_strategy, fields=lead_fields_strategy)
def test_what_a_lead_keeps_is_the_stored_form_of_its_full_score(attributes, fields):
    definition = CompiledDefinition(RULES, 20, ["Lead Source", "email"])
    full = definition.score(fields=fields, attributes=attributes)
    points, stored, qualified = definition.score_stored(fields=fields, attributes=attributes)
    assert (points, qualified) == (full.points, full.qualified)
    assert json.dumps(stored) == json.dumps(full.as_stored())
