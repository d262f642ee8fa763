"""Cleaning a lead's free attributes: what is kept, and each refusal by its name."""

from hypothesis import given
from hypothesis import strategies as st

from leads import validation
from leads.validation import MAX_ATTRIBUTE_LENGTH, NUL_ERROR, clean_lead_input


def _attributes(attributes):
    data, errors = clean_lead_input({"source": "web", "attributes": attributes})
    return data.get("attributes"), errors


def test_text_numbers_true_false_and_null_are_kept_and_text_is_stripped():
    clean, errors = _attributes({" Lead Source ": " Google ", "Visits": 5, "Rate": 2.5, "Ok": True})
    assert errors == {}
    assert clean == {"Lead Source": "Google", "Visits": 5, "Rate": 2.5, "Ok": True}
    assert _attributes({"Empty": None}) == ({"Empty": None}, {})


def test_a_long_name_is_cut_and_a_long_value_refused_by_its_name():
    clean, errors = _attributes({"n" * 250: "x", "Notes": "y" * (MAX_ATTRIBUTE_LENGTH + 1)})
    assert clean == {"n" * 200: "x"}
    assert errors == {"attributes.Notes": [f"At most {MAX_ATTRIBUTE_LENGTH} characters."]}


def test_a_nested_value_is_refused_by_its_name():
    clean, errors = _attributes({"Tags": ["a"], "Extra": {"b": 1}, "Kept": "yes"})
    assert clean == {"Kept": "yes"}
    assert errors == {
        "attributes.Tags": ["Must be text, a number or true/false."],
        "attributes.Extra": ["Must be text, a number or true/false."],
    }


def test_a_nul_in_a_name_or_a_text_value_is_refused_under_the_name_without_it():
    clean, errors = _attributes({"A\x00b": "x", "C": "d\x00", "E\x00": 3, "F": 1})
    assert clean == {"F": 1}
    assert errors == {
        "attributes.Ab": [NUL_ERROR],
        "attributes.C": [NUL_ERROR],
        "attributes.E": [NUL_ERROR],
    }


texts = st.text(alphabet=st.sampled_from(["a", "B", " ", "\x00", "é", "\t"]), max_size=6)


@given(
    attributes=st.dictionaries(
        texts | st.integers(0, 3),
        texts | st.integers() | st.booleans() | st.none() | st.just("x" * 2001),
        max_size=6,
    )
)
def test_the_all_text_shortcut_gives_what_the_attribute_by_attribute_cleaning_gives(attributes):
    shortcut = validation._all_text(attributes)
    errors: dict = {}
    each = validation._clean_each(attributes, errors)
    if shortcut is not None:
        assert list(shortcut.items()) == list(each.items())
        assert errors == {}
    else:
        assert errors or not all(type(k) is str and type(v) is str for k, v in attributes.items())
