"""The CLI's tables fit the terminal: shortenable columns give way first, then columns drop in their order."""

from zoo.cli.render import GAP, Column, fit


def width(widths):
    shown = [w for w in widths if w is not None]
    return sum(shown) + GAP * (len(shown) - 1)


def test_a_table_that_fits_is_left_alone():
    columns = [Column("a"), Column("b", shorten_to=3, drop=1)]
    assert fit(columns, [10, 20], 80) == [10, 20]


def test_shortenable_columns_give_way_before_any_column_drops():
    columns = [Column("name"), Column("task", shorten_to=8, drop=2), Column("text", shorten_to=10, drop=1)]
    widths = fit(columns, [12, 20, 60], 50)
    assert widths == [12, 20, 14] and width(widths) == 50  # the widest gave way, and only as far as needed
    widths = fit(columns, [12, 20, 60], 34)
    assert widths == [12, 8, 10] and width(widths) <= 34  # both at their floors: nothing had to drop


def test_columns_drop_in_their_order_when_shortening_is_not_enough():
    columns = [Column("name"), Column("a", drop=2), Column("b", drop=1), Column("c")]
    assert fit(columns, [10, 10, 10, 10], 34) == [10, 10, None, 10]
    assert fit(columns, [10, 10, 10, 10], 22) == [10, None, None, 10]
    # what may neither shorten nor drop is kept whole, even past the width
    assert fit(columns, [10, 10, 10, 10], 5) == [10, None, None, 10]
