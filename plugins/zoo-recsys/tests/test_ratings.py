"""The real MovieLens and RecBole layouts, written small by the tests, and the bad inputs."""

import pytest
from zoo_recsys.data import movielens, ratings_csv
from zoo_recsys.ratings import read_movielens

from zoo.errors import UsageError


def test_ml100k_layout_with_titles(tmp_path):
    (tmp_path / "u.data").write_text("196\t242\t3\t881250949\n186\t302\t3\t891717742\n196\t302\t5\t881250950\n")
    (tmp_path / "u.item").write_bytes(
        "242|Kolya (1996)|24-Jan-1997\n302|L.A. Confidential (1997)|01-Jan-1997\n".encode("latin-1")
    )
    r = read_movielens(tmp_path)
    assert (r.users, r.items, r.ratings) == (["196", "186", "196"], ["242", "302", "302"], [3.0, 3.0, 5.0])
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
    assert r.ratings == [4.0, 3.5] and r.titles["3"] == "Grumpier Old Men (1995)"
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
    assert list(zip(r.users, r.items, r.ratings, strict=True)) == [("1", "2", 5.0), ("2", "2", 4.0)]
    assert "2 duplicate (user, item) rating(s)" in r.warnings[0]


def test_ratings_csv_with_a_column_mapping(tmp_path):
    path = tmp_path / "clicks.tsv"
    rows = "".join(f"u{u}\tp{p}\t{1 + (u + p) % 5}\n" for u in range(30) for p in range(8))
    path.write_text("customer\tproduct\tstars\n" + rows)
    data = ratings_csv(path, columns="user=customer,item=product,rating=stars")
    assert data.info["users"][:2] == ["u0", "u1"] and len(data.train) + len(data.val) == 240
    with pytest.raises(UsageError, match="no column 'score' for rating; the header has: customer, product, stars"):
        ratings_csv(path, columns="user=customer,item=product,rating=score")


def test_bundled_ml100k_splits():
    explicit = movielens()
    assert (len(explicit.train), len(explicit.val)) == (80_000, 20_000)
    assert (len(explicit.info["users"]), len(explicit.info["items"])) == (943, 1682)
    assert explicit.info["titles"][explicit.info["items"].index("1")] == "Toy Story"
    implicit = movielens(split="leave-one-out")
    users, candidates = implicit.val.tensors
    assert len(users) == 943 and candidates.shape == (943, 100)  # held-out item + 99 unseen negatives
    assert len(implicit.train) == 100_000 - 943
