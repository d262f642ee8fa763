"""The arithmetic of a chart: round ticks, bars that fill the plot, labels that fit."""

from hypothesis import given
from hypothesis import strategies as st

from alignment import chart_geometry as geometry
from alignment.charts import Table, chart


def test_the_scale_ends_on_the_first_round_tick_above_the_largest_value():
    assert geometry.scale(39, integer=True).ticks == (0, 10, 20, 30, 40)
    assert geometry.scale(7, integer=True).ticks == (0, 2, 4, 6, 8)
    assert geometry.scale(3, integer=True).ticks == (0, 1, 2, 3)
    assert geometry.scale(1286.8).ticks == (0, 500, 1000, 1500)
    assert geometry.scale(0.8).ticks == (0, 0.2, 0.4, 0.6, 0.8)


def test_counts_get_no_half_ticks_and_shares_never_read_past_100():
    assert all(t == int(t) for t in geometry.scale(12, integer=True).ticks)
    assert all(t == int(t) for t in geometry.scale(0.5, integer=True).ticks)
    assert geometry.scale(97, cap=100).top == 100
    assert geometry.scale(100, cap=100).ticks[-1] == 100


def test_nothing_to_show_is_a_scale_of_one():
    assert geometry.scale(0).ticks == (0, 1)


@given(st.floats(min_value=0.01, max_value=1e9), st.booleans())
def test_the_largest_bar_fills_at_least_two_fifths_of_the_plot(largest, integer):
    axis = geometry.scale(largest, integer=integer)
    assert axis.ticks[0] == 0
    assert axis.ticks[-1] == axis.top
    assert largest <= axis.top + 1e-6
    assert axis.fraction(largest) >= 0.4 or (integer and largest < 1)
    assert 3 <= len(axis.ticks) <= 11 or largest <= 2


def test_labels_are_cut_with_an_ellipsis_and_columns_labelled_so_they_never_touch():
    assert geometry.fit_label("Everyone else · Accept or reject", 20) == "Everyone else · Acc…"
    assert geometry.fit_label("  Hot   lead ", 20) == "Hot lead"
    assert geometry.label_every(30, 580, 40) == 3
    assert geometry.label_every(5, 580, 40) == 1


def test_a_chart_has_ticks_a_unit_a_legend_and_formatted_values():
    table = Table("t", "Time paused", ["Rep", "Leads"], [["Ravi", 1204], ["Carmen", 1]])
    made = chart("c", "Leads per rep", table, unit=" leads")
    assert [b.text for b in made.bars] == ["1,204 leads", "1 lead"]
    assert made.ticks[0].text == "0"
    assert made.ticks[-1].text == "1,250"
    assert made.axis_title == "Leads"
    assert made.legend == [(0, "Leads")]
    x0, _, x1, _ = made.plot
    assert made.bars[0].w / (x1 - x0) > 0.8  # the largest bar fills the plot


def test_a_patterned_chart_names_each_pattern_in_its_legend():
    table = Table("t", "Outcomes", ["Outcome", "Leads"], [["Won", 3], ["Lost", 2], ["None", 1]])
    made = chart("c", "Outcomes", table, patterned=True)
    assert made.legend == [(0, "Won"), (1, "Lost"), (2, "None")]


def test_columns_fill_the_plot_and_label_only_as_many_dates_as_fit():
    rows = [[f"{d:02d} Nov", d % 4] for d in range(1, 31)]
    made = chart("c", "Per day", Table("t", "Per day", ["Day", "Total"], rows), vertical=True)
    x0, _, x1, _ = made.plot
    assert made.bars[0].x - x0 < 20
    assert x1 - (made.bars[-1].x + made.bars[-1].w) < 20
    shown = [b for b in made.bars if b.show_label]
    assert 3 <= len(shown) < 30
    assert made.ticks[-1].text == "3"  # largest 3: ticks 0, 1, 2, 3


def test_table_cells_use_the_same_formatter_and_hours_read_as_durations():
    table = Table("t", "Open", ["Lead", "Hours open", "Leads", "Rate"], [["A", 52.0, 1204, 76.0]])
    assert table.display_rows == [["A", "2 d 4 h", "1,204", "76.0"]]
    assert table.csv_rows()[1] == ["A", 52.0, 1204, 76.0]
