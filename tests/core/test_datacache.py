"""Loading at scale: a MovieLens folder is parsed once and reloaded from its Parquet cache, which is never
trusted blindly; the fast paths of the loaders give exactly what the straightforward pandas code gave."""
import json
import os

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from collab_core.bench.loading import write_synthetic_movielens
from collab_core.cli import main as cli
from collab_core.data import cache as datacache
from collab_core.data import datasets
from collab_core.data.datasets import load_movielens_folder
from collab_core.data.ratings import Ratings
from collab_core.errors import DataError


def write_folder(folder, layout):
    """Small folders in the real layouts, with a repeated pair and ids mixing numbers and text (both noted)."""
    folder.mkdir(parents=True, exist_ok=True)
    if layout == "ml-100k":
        (folder / "u.data").write_text("1\t10\t4\t1\n1\t20\t3\t2\n2\t10\t5\t3\n2\t10\t2\t4\n")
        flags = "|".join(["0"] * 19)
        (folder / "u.item").write_bytes(f"10|Amélie (2001)|x||u|{flags}\n20|Heat (1995)|x||u|{flags}\n"
                                        .encode("latin-1"))
        (folder / "u.user").write_text("1|24|M|technician|85711\n2|53|F|other|94043\n")
    elif layout == "ml-1m":
        (folder / "ratings.dat").write_text("1::1193::5::1\n1::661::3::2\nbob::1193::4::3\n1::661::4::4\n")
        movies = "1193::Cuckoo's Nest (1975)::Drama\n661::Café (1996)::Animation|Children's\n"
        (folder / "movies.dat").write_bytes(movies.encode("latin-1"))
        (folder / "users.dat").write_text("1::F::1::10::48067\nbob::M::56::16::70072\n")
    else:
        (folder / "ratings.csv").write_text("userId,movieId,rating,timestamp\n1,1,4.0,9\n1,3,4.5,9\n2,1,2.5,1\n"
                                            "2,1,3.5,1\nann,3,1.0,5\n")
        (folder / "movies.csv").write_text('movieId,title,genres\n1,Toy Story (1995),Adventure|Animation\n'
                                           '3,"Grumpier Old Men, The (1995)",(no genres listed)\n')
    return folder


def assert_same(a: Ratings, b: Ratings):
    for name in ("user_index", "item_index", "rating", "user_ids", "item_ids"):
        x, y = getattr(a, name), getattr(b, name)
        assert x.dtype == y.dtype and np.array_equal(x, y), name
    pd.testing.assert_frame_equal(a.items, b.items)
    if a.users is None:
        assert b.users is None
    else:
        pd.testing.assert_frame_equal(a.users, b.users)
    assert (a.name, a.notes) == (b.name, b.notes)


def only_from_cache(monkeypatch):
    """Make any parse fail: what loads now can only come from the cache."""
    def refuse(folder):
        raise AssertionError(f"parsed {folder} again")
    for loader in ("_load_ml100k", "_load_ml1m", "_load_ml_latest"):
        monkeypatch.setattr(datasets, loader, refuse)


@pytest.mark.parametrize("layout", ["ml-100k", "ml-1m", "ml-latest"])
def test_the_second_load_comes_from_the_cache_and_equals_the_parse(tmp_path, monkeypatch, layout):
    folder = write_folder(tmp_path / layout, layout)
    parsed = load_movielens_folder(folder, cache=False)
    assert len(parsed.notes) == (1 if layout == "ml-100k" else 2)  # the repeated pair (and mixed ids)
    first = load_movielens_folder(folder)
    only_from_cache(monkeypatch)
    cached = load_movielens_folder(folder)
    assert_same(parsed, first)
    assert_same(parsed, cached)
    entries = list((folder / ".collab-cache").iterdir())
    assert len(entries) == 1
    assert sorted(p.suffix for p in entries[0].iterdir()) == [".json", ".parquet", ".parquet", ".parquet"]
    assert datacache.cached_summary(folder) == {"ratings": parsed.n_ratings, "users": parsed.n_users,
                                                "items": parsed.n_items, "name": parsed.name}


def test_a_changed_source_file_is_parsed_again(tmp_path):
    folder = write_folder(tmp_path / "ml", "ml-latest")
    before = load_movielens_folder(folder)
    ratings = folder / "ratings.csv"
    stamp = ratings.stat()
    ratings.write_text(ratings.read_text().replace("4.5", "3.5"))  # same size...
    os.utime(ratings, ns=(stamp.st_atime_ns, stamp.st_mtime_ns))  # ...and the same mtime: the content tells
    after = load_movielens_folder(folder)
    assert sorted(before.rating.tolist()) != sorted(after.rating.tolist()) and 3.5 in after.rating.tolist()
    assert len(list((folder / ".collab-cache").iterdir())) == 1  # the stale entry was removed


def _entry(folder):
    return next(p for p in (folder / ".collab-cache").iterdir() if not p.name.startswith("."))


def _truncate(entry):
    path = entry / "ratings.parquet"
    path.write_bytes(path.read_bytes()[:40])


def _bad_meta(entry):
    (entry / "meta.json").write_text("{not json")


def _wrong_count(entry):
    meta = json.loads((entry / "meta.json").read_text())
    (entry / "meta.json").write_text(json.dumps({**meta, "ratings": meta["ratings"] + 1}))


def _index_out_of_range(entry):
    table = pq.read_table(entry / "ratings.parquet")
    users = table.column("user_index").to_numpy().copy()
    users[0] = 99
    pq.write_table(table.set_column(0, "user_index", pa.array(users)), entry / "ratings.parquet")


def _repeated_ids(entry):
    users = pq.read_table(entry / "users.parquet").to_pandas()
    users.iloc[:, 0] = users.iloc[0, 0]
    pq.write_table(pa.Table.from_pandas(users, preserve_index=False), entry / "users.parquet")


@pytest.mark.parametrize("damage", [_truncate, _bad_meta, _wrong_count, _index_out_of_range, _repeated_ids])
def test_a_damaged_cache_is_ignored_and_rebuilt(tmp_path, damage):
    folder = write_folder(tmp_path / "ml", "ml-1m")
    parsed = load_movielens_folder(folder, cache=False)
    load_movielens_folder(folder)
    damage(_entry(folder))
    assert_same(parsed, load_movielens_folder(folder))
    assert datacache.read_entry(_entry(folder), datacache.source_key(folder)) is not None  # rebuilt whole


def test_a_folder_that_cannot_take_a_cache_still_loads(tmp_path, monkeypatch):
    folder = write_folder(tmp_path / "ml", "ml-latest")

    def disk_full(*args):
        raise OSError(28, "No space left on device")
    monkeypatch.setattr(datacache, "write_entry", disk_full)
    assert load_movielens_folder(folder).n_ratings == 4
    assert not (folder / ".collab-cache").exists()


# ---------------------------------------------------------------------- the fast paths keep behaviour
def reference_from_frame(frame: pd.DataFrame):
    """The straightforward pandas version: str ids, groupby-mean duplicates, vocabularies sorted as Ratings does."""
    frame = frame.assign(user=[str(u) for u in frame["user"]], item=[str(i) for i in frame["item"]])
    frame = frame.groupby(["user", "item"], as_index=False, sort=False)["rating"].mean()

    def vocab(ids):
        uniques = list(dict.fromkeys(ids))
        if all(u.isdigit() for u in uniques):
            uniques.sort(key=int)
        else:
            uniques.sort()
        return np.array(uniques, dtype=object), pd.Index(uniques).get_indexer(ids)
    user_ids, users = vocab(frame["user"].tolist())
    item_ids, items = vocab(frame["item"].tolist())
    return users, items, frame["rating"].to_numpy(np.float64), user_ids, item_ids


@pytest.mark.parametrize("seed", range(6))
def test_from_frame_matches_the_straightforward_pandas_version(seed):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(20, 400))
    users = rng.integers(0, 30, n)
    items = rng.integers(0, 40, n)
    frame = pd.DataFrame({
        "user": users.astype(str) if seed % 2 else np.array([f"u{u}" if u % 3 else str(u) for u in users], object),
        "item": items if seed % 3 else pd.Categorical([str(i) for i in items]),
        "rating": rng.choice([0.5, 1.0, 3.5, 4.0, 5.0], n),
    })
    ratings = Ratings.from_frame(frame)
    users_ref, items_ref, rating_ref, user_ids, item_ids = reference_from_frame(frame)
    assert np.array_equal(ratings.user_ids, user_ids) and np.array_equal(ratings.item_ids, item_ids)
    assert np.array_equal(ratings.user_index, users_ref) and np.array_equal(ratings.item_index, items_ref)
    np.testing.assert_allclose(ratings.rating, rating_ref, rtol=1e-6)
    repeated = frame.assign(user=frame["user"].astype(str), item=frame["item"].astype(str)).duplicated(
        ["user", "item"], keep=False)
    expected_pairs = frame[repeated].assign(user=lambda f: f["user"].astype(str),
                                            item=lambda f: f["item"].astype(str)).drop_duplicates(["user", "item"])
    assert any(f"{len(expected_pairs):,} (user, item) pairs" in note for note in ratings.notes) == bool(repeated.any())
    subset = ratings.subset(np.arange(ratings.n_ratings) % 2 == 0)
    assert subset.n_ratings == (ratings.n_ratings + 1) // 2
    assert np.array_equal(subset.user_ids[subset.user_index], ratings.user_ids[ratings.user_index][::2])


def test_double_colon_reader_keeps_quotes_and_reports_ragged_rows(tmp_path):
    folder = write_folder(tmp_path / "ml", "ml-1m")
    (folder / "movies.dat").write_bytes(b'1193::"Great Performances" Cats (1998)::Musical\n661::x::\n')
    ratings = load_movielens_folder(folder, cache=False)
    assert ratings.titles[ratings.item_to_index("1193")] == '"Great Performances" Cats (1998)'
    (folder / "ratings.dat").write_text("1::1193::5::1\n1::661\n")
    with pytest.raises(DataError, match="row 2: rating '' is not a finite number"):
        load_movielens_folder(folder, cache=False)
    (folder / "ratings.dat").write_text("1::1193::5::1\n1::661::3::2::9\n")
    with pytest.raises(DataError, match="not a '::'-separated MovieLens file"):
        load_movielens_folder(folder, cache=False)


@pytest.mark.parametrize("layout", ["ml-25m", "ml-10m"])
def test_synthetic_folders_have_the_shape_asked_for(tmp_path, layout):
    shape = write_synthetic_movielens(tmp_path / layout, 20_000, layout)
    ratings = load_movielens_folder(tmp_path / layout)
    assert (ratings.n_ratings, ratings.n_users, ratings.n_items) == (shape["ratings"], shape["users"], shape["items"])
    assert shape["ratings"] == 20_000 and ratings.notes == ()
    assert set(np.unique(ratings.rating)) <= set(np.arange(1, 11) / 2)
    assert ratings.user_counts.min() >= 1 and ratings.item_counts.max() > 20 * ratings.item_counts.min()


def test_the_loading_benchmark_reports_both_loads(capsys):
    assert cli.main(["bench", "--loading", "--n-ratings", "20000", "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["shape"]["ratings"] == 20_000
    for run in ("first_load", "cached_reload"):
        assert result[run]["ratings"] == 20_000 and result[run]["seconds"] > 0 and result[run]["peak_rss_mb"] > 0
