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


# Foreign text never forges output --------------------------------------------------------------------------------

FORGED = "dog  0.9999\n  cat"


def test_a_cell_or_header_with_newlines_tabs_or_markup_stays_in_its_row(capsys, monkeypatch):
    from rich.text import Text

    from zoo.cli.render import print_fields, print_table

    monkeypatch.setenv("COLUMNS", "200")
    rows = [(FORGED, 1), ("a\tb\x1b[2J", Text("c\u2028d\x1be", "red")), ("plain", 2)]
    print_table(["Name", Column("[bold]x\ny[/nope]")], rows)
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 4, lines  # a header and three rows
    assert "[bold]x\\ny[/nope]" in lines[0]  # shown as written, never read as markup
    assert lines[1].startswith("dog  0.9999\\n  cat ") and lines[2].startswith("a\\tb\\x1b[2J ")
    assert "c\\u2028d\\x1be" in lines[2]
    print_fields([("label", FORGED), (FORGED, "x")])
    lines = [line.rstrip() for line in capsys.readouterr().out.splitlines()]
    assert lines == ["label               dog  0.9999\\n  cat", "dog  0.9999\\n  cat  x"]


def test_plain_lines_and_headings_stay_one_line(capsys):
    from zoo.cli.render import echo, echo_lines, print_heading

    echo(f"{FORGED}  0.5")
    print_heading(FORGED, f" ({FORGED})")
    echo_lines("zoo's own\ntwo lines")
    assert capsys.readouterr().out.splitlines() == [
        "dog  0.9999\\n  cat  0.5",
        "dog  0.9999\\n  cat (dog  0.9999\\n  cat)",
        "zoo's own",
        "two lines",
    ]


# Promised behaviour holds -----------------------------------------------------------------------------------------


def test_popular_items_for_an_unknown_user_show_what_they_are():
    from zoo.cli.training import prediction_lines

    note = "unknown user u9: the most popular items"
    popular = [
        {"item": "i1", "score": None, "title": "Toy Story (1995)", "popular": True, "note": note},
        {"item": "i2", "score": None, "title": None, "popular": True, "note": note},
    ]
    assert prediction_lines({"input": "u9", "output": popular}) == [
        f"u9: {note}",
        "  i1  popular  Toy Story (1995)",
        "  i2  popular",
    ]
    scored = [{"item": "i3", "score": 4.51234, "title": "Heat (1995)"}, {"label": "cat", "score": 0.25}]
    assert prediction_lines({"input": "u1", "output": scored}) == ["u1:", "  i3  4.5123  Heat (1995)", "  cat  0.2500"]
    assert prediction_lines({"input": "a.wav", "output": "HELLO"}) == ["a.wav: HELLO"]
