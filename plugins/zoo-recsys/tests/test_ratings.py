"""The real MovieLens and RecBole layouts, written small by the tests, and the bad inputs."""

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from zoo_recsys.data import bundled_ml100k, movielens, ratings_csv
from zoo_recsys.ratings import _read_columnar, read_movielens, read_table

from zoo.core.errors import UsageError


def rows(r):
    """(user, item, rating) per rating, in raw ids."""
    return [(r.user_ids[u], r.item_ids[i], float(x)) for u, i, x in zip(r.users, r.items, r.ratings, strict=True)]


def test_ml100k_layout_with_titles(tmp_path):
    (tmp_path / "u.data").write_text("196\t242\t3\t881250949\n186\t302\t3\t891717742\n196\t302\t5\t881250950\n")
    (tmp_path / "u.item").write_bytes(
        "242|Kolya (1996)|24-Jan-1997\n302|L.A. Confidential (1997)|01-Jan-1997\n".encode("latin-1")
    )
    r = read_movielens(tmp_path)
    assert rows(r) == [("196", "242", 3.0), ("186", "302", 3.0), ("196", "302", 5.0)]
    assert r.timestamps.tolist() == [881250949, 891717742, 881250950]
    assert r.titles == {"242": "Kolya (1996)", "302": "L.A. Confidential (1997)"}


def test_ml1m_latest_and_recbole_layouts(tmp_path):
    one = tmp_path / "ml-1m"
    one.mkdir()
    (one / "ratings.dat").write_text("1::1193::5::978300760\n1::661::3::978302109\n")
    (one / "movies.dat").write_bytes("1193::One Flew Over the Cuckoo's Nest (1975)::Drama\n".encode("latin-1"))
    assert read_movielens(one).titles["1193"].startswith("One Flew")
    latest = tmp_path / "ml-latest-small"
    latest.mkdir()
    (latest / "ratings.csv").write_text("userId,movieId,rating,timestamp\n1,1,4.0,964982703\n1,3,3.5,964981247\n")
    (latest / "movies.csv").write_text(
        'movieId,title,genres\n1,Toy Story (1995),Adventure\n3,"Grumpier Old Men (1995)",Comedy\n'
    )
    r = read_movielens(latest)
    assert r.ratings.tolist() == [4.0, 3.5] and r.titles["3"] == "Grumpier Old Men (1995)"
    rb = tmp_path / "recbole"
    rb.mkdir()
    (rb / "tiny.inter").write_text(
        "user_id:token\titem_id:token\trating:float\ttimestamp:float\n196\t242\t3\t881250949\n"
    )
    (rb / "tiny.item").write_text("item_id:token\tmovie_title:token_seq\trelease_year:token\n242\tKolya\t1996\n")
    assert read_movielens(rb).titles == {"242": "Kolya"}


def test_bad_inputs(tmp_path):
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "u.data").write_text("1\t2\t3\t100\n1\t5\n")
    with pytest.raises(UsageError, match=r"u.data:2: expected at least 4 fields, got 2"):
        read_movielens(bad)
    (bad / "u.data").write_text("1\t2\t3\t100\n1\t3\t9\t100\n")
    with pytest.raises(UsageError, match=r"u.data:2: rating 9 is outside 0.5..5"):
        read_movielens(bad)
    (bad / "u.data").write_text("1\t2\tfour\t100\n")
    with pytest.raises(UsageError, match=r"u.data:1: rating 'four' is not a number"):
        read_movielens(bad)
    (bad / "u.data").write_text("")
    with pytest.raises(UsageError, match="holds no ratings"):
        read_movielens(bad)
    empty = tmp_path / "nothing"
    empty.mkdir()
    with pytest.raises(UsageError, match="no MovieLens ratings"):
        read_movielens(empty)


def test_duplicates_keep_the_latest_and_warn(tmp_path):
    (tmp_path / "u.data").write_text("1\t2\t3\t100\n1\t2\t5\t200\n1\t2\t1\t150\n2\t2\t4\t100\n")
    r = read_movielens(tmp_path)
    assert rows(r) == [("1", "2", 5.0), ("2", "2", 4.0)]
    assert "2 duplicate (user, item) rating(s)" in r.warnings[0]


def test_ratings_csv_with_a_column_mapping(tmp_path):
    path = tmp_path / "clicks.tsv"
    rows = "".join(f"u{u}\tp{p}\t{1 + (u + p) % 5}\n" for u in range(30) for p in range(8))
    path.write_text("customer\tproduct\tstars\n" + rows)
    data = ratings_csv(path, columns="user=customer,item=product,rating=stars")
    assert data.info["num_users"] == 30 and len(data.train) + len(data.val) == 240
    with pytest.raises(UsageError, match="no column 'score' for rating; the header has: customer, product, stars"):
        ratings_csv(path, columns="user=customer,item=product,rating=score")


def test_bundled_ml100k_splits():
    explicit = movielens()
    assert (len(explicit.train), len(explicit.val)) == (80_000, 20_000)
    assert (explicit.info["num_users"], explicit.info["num_items"]) == (943, 1682)
    implicit = movielens(split="leave-one-out")
    users, candidates = implicit.val.tensors
    assert len(users) == 943 and candidates.shape == (943, 100)  # held-out item + 99 unseen negatives
    assert len(implicit.train) == 100_000 - 943


def test_a_duplicate_moves_an_id_after_the_ones_it_preceded(tmp_path):
    # u1's first line is superseded by its last, so u2 (line 2) now comes first, as the line reader has it.
    (tmp_path / "u.data").write_text("u1\ti1\t3\t100\nu2\ti2\t4\t100\nu1\ti1\t5\t200\n")
    r = read_movielens(tmp_path)
    assert (
        r.user_ids == ["u2", "u1"] and r.item_ids == ["i2", "i1"] and rows(r) == [("u2", "i2", 4.0), ("u1", "i1", 5.0)]
    )


def _path(path, sep, columns, header, encoding="utf-8"):
    """Which reader `read_table` uses for this file: the columnar one, or the line reader it falls back to."""
    try:
        taken = _read_columnar(path, sep, columns, header, encoding, 0.5, 5.0)
    except UsageError:
        return "columnar: refused, as the line reader does"
    return "line reader (columnar fell back)" if taken is None else "columnar"


def _same(path, sep, columns, header, encoding="utf-8"):
    """The columnar reader gives exactly what the line reader gives, or the same error."""
    results = []
    for columnar in (True, False):
        try:
            r = read_table(path, sep, columns, header, encoding, columnar=columnar)
        except UsageError as exc:
            results.append(("error", str(exc)))
        else:
            stamps = None if r.timestamps is None else r.timestamps.tolist()
            results.append(
                (r.user_ids, r.item_ids, r.users.tolist(), r.items.tolist(), r.ratings.tolist(), stamps, r.warnings)
            )
    assert results[0] == results[1]
    return results[0]


def test_the_columnar_reader_takes_the_bundled_ml100k_as_the_line_reader_does():
    folder = bundled_ml100k()
    columns = {
        "user": "user_id:token",
        "item": "item_id:token",
        "rating": "rating:float",
        "timestamp": "timestamp:float",
    }
    path = folder / "ml-100k.inter"
    assert _read_columnar(path, "\t", columns, True, "utf-8", 0.5, 5.0) is not None  # the fast path took it
    users, items, *_ = _same(path, "\t", columns, True)
    assert (len(users), len(items)) == (943, 1682)


FIELD = st.text(alphabet=st.sampled_from(list('0123456789.-+e aé:,\t"\\\r\x0c_n')), max_size=5)
LAYOUTS = {
    "csv": (",", {"user": "u", "item": "i", "rating": "r", "timestamp": "t"}, True, "u,i,r,t\n"),
    "tsv": ("\t", {"user": 0, "item": 1, "rating": 2, "timestamp": 3}, False, ""),
    "dat": ("::", {"user": 0, "item": 1, "rating": 2, "timestamp": 3}, False, ""),
    "csv-no-time": (",", {"user": "u", "item": "i", "rating": "r"}, True, "u,i,r\n"),
    "csv-shared-column": (",", {"user": "u", "item": "u", "rating": "r", "timestamp": "r"}, True, "u,i,r,t\n"),
    "csv-quoted-header": (
        ",",
        {"user": "u,1", "item": "i", "rating": "r", "timestamp": "t"},
        True,
        '"u,1","i",r,"t"\n',
    ),
}


@settings(max_examples=1000, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    layout=st.sampled_from(sorted(LAYOUTS)),
    lines=st.lists(
        st.one_of(
            st.tuples(
                st.sampled_from(["1", "2", " 2", "a"]),
                st.sampled_from(["7", "8", "é"]),
                st.sampled_from(["1", "4.5", "5", "0", "x", "nan", " 3"]),
                st.sampled_from(["10", "9", "1e3", "inf", ""]),
            ),
            st.tuples(FIELD, FIELD, FIELD, FIELD),
        ),
        max_size=6,
    ),
    raw=st.binary(max_size=8),
    prefix=st.one_of(st.none(), FIELD),
)
def test_the_columnar_reader_agrees_with_the_line_reader_on_any_file(tmp_path, layout, lines, raw, prefix):
    sep, columns, header, first = LAYOUTS[layout]
    width = 3 if layout == "csv-no-time" else 4
    if header and prefix is not None:  # a damaged header: the readers must still agree
        first = prefix + first
    text = first + "".join(sep.join(fields[:width]) + "\n" for fields in lines)
    path = tmp_path / "ratings.txt"
    path.write_bytes(text.encode("utf-8") + raw)
    event(_path(path, sep, columns, header))
    _same(path, sep, columns, header)


# Well-formed files the columnar reader must take itself: ids without separators, quotes or line breaks (padded
# with spaces, which both readers strip), ratings in range in any spelling, timestamps with fractions and signs
# (both truncate towards zero), CRLF or LF, with or without the last line break (but for a lone rating).
CLEAN_ID = st.builds(
    lambda pad, core, end: pad + core + end,
    st.sampled_from(["", " "]),
    st.text(alphabet="ab7_-.é", min_size=1, max_size=3),
    st.sampled_from(["", " "]),
)
CLEAN_RATING = st.builds(
    lambda half, spelling: spelling.format(half / 2), st.integers(1, 10), st.sampled_from(["{:g}", "{:.2f}", "{:e}"])
)
CLEAN_TIME = st.one_of(
    st.integers(-(2**40), 2**40).map(str),
    st.builds(lambda n, frac: f"{n / 4 + frac:.2f}", st.integers(-4000, 4000), st.sampled_from([0.0, 0.49, 0.5, 0.51])),
)
CLEAN_LAYOUTS = sorted(k for k in LAYOUTS if k != "csv-shared-column")  # one column read as two: the line reader's


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    layout=st.sampled_from(CLEAN_LAYOUTS),
    lines=st.lists(st.tuples(CLEAN_ID, CLEAN_ID, CLEAN_RATING, CLEAN_TIME), min_size=1, max_size=8),
    newline=st.sampled_from(["\n", "\r\n"]),
    last_break=st.booleans(),
)
def test_the_columnar_reader_takes_clean_files_and_agrees_with_the_line_reader(
    tmp_path, layout, lines, newline, last_break
):
    sep, columns, header, first = LAYOUTS[layout]
    width = 3 if layout == "csv-no-time" else 4
    last_break = last_break or len(lines) == 1  # pyarrow reads one unterminated row as an empty file
    body = newline.join(sep.join(fields[:width]) for fields in lines) + (newline if last_break else "")
    path = tmp_path / "ratings.txt"
    path.write_bytes((first.replace("\n", newline) + body).encode("utf-8"))
    assert _path(path, sep, columns, header) == "columnar", path.read_bytes()
    event(f"layout {layout}")
    _same(path, sep, columns, header)


@settings(max_examples=500, deadline=None)
@given(
    rows=st.lists(
        st.tuples(st.integers(0, 3), st.integers(0, 3), st.integers(1, 5), st.integers(0, 3)), min_size=1, max_size=12
    ),
    timed=st.booleans(),
)
def test_deduplication_keeps_the_latest_rating_of_each_pair(rows, timed):
    import numpy as np
    from zoo_recsys.ratings import _Columns, _dedupe

    users, items, ratings, stamps = (list(column) for column in zip(*rows, strict=True))
    latest: dict[tuple[int, int], int] = {}  # the plain reading of the rule: by timestamp, else the later line
    for line, pair in enumerate(zip(users, items, strict=True)):
        if pair not in latest or not timed or stamps[line] >= stamps[latest[pair]]:
            latest[pair] = line
    kept = sorted(latest.values())
    user_ids, item_ids = (list(dict.fromkeys(f"{p}{v}" for v in column)) for p, column in (("u", users), ("i", items)))
    columns = _Columns(  # codes factorised in first-appearance order, as the readers give them
        np.array([user_ids.index(f"u{v}") for v in users]),
        user_ids,
        np.array([item_ids.index(f"i{v}") for v in items]),
        item_ids,
        np.array(ratings, dtype=float),
        np.array(stamps) if timed else None,
    )
    r = _dedupe(columns, "x")
    assert rows_of(r) == [(f"u{users[i]}", f"i{items[i]}", float(ratings[i])) for i in kept]
    assert r.user_ids == list(dict.fromkeys(f"u{users[i]}" for i in kept))  # ids in first-appearance order
    assert bool(r.warnings) == (len(kept) < len(rows))


def rows_of(r):
    return rows(r)


@settings(max_examples=300, deadline=None)
@given(items=st.lists(st.integers(0, 150), min_size=1, max_size=400))
def test_popular_items_are_the_most_rated_first_rated_first_on_ties(items):
    import numpy as np
    from zoo_recsys.data import POPULAR, _popular

    counts: dict[int, int] = {}
    for v in items:
        counts[v] = counts.get(v, 0) + 1
    first = {v: items.index(v) for v in counts}
    expected = sorted(counts, key=lambda v: (-counts[v], first[v]))[:POPULAR]
    assert _popular(np.array(items), 151).tolist() == expected
