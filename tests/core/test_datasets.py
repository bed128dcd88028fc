"""Every data format parses from a tiny file written here, and every bad input gets a DataError naming it."""
import numpy as np
import pandas as pd
import pytest

from collab_core.data.datasets import (
    ColumnMap,
    detect_movielens_format,
    load_builtin,
    load_dataset,
    load_movielens_folder,
    load_table,
    load_train_valid,
)
from collab_core.data.ratings import Ratings, random_split
from collab_core.errors import AmbiguousTitleError, DataError, UnknownIdError


def write(path, text, encoding="utf-8"):
    path.write_bytes(text.encode(encoding))
    return path


def test_builtin_movielens_100k_has_titles_genres_and_demographics():
    ratings = load_builtin()
    assert (ratings.n_users, ratings.n_items, ratings.n_ratings) == (943, 1682, 100_000)
    star_wars = ratings.find_item("Star Wars (1977)")
    assert ratings.item_ids[star_wars] == "50"
    assert ratings.items.loc[star_wars, "year"] == 1977
    assert "Sci-Fi" in ratings.items.loc[star_wars, "genres"]
    assert ratings.titles[ratings.item_to_index("1")] == "Toy Story (1995)"
    assert {"age", "gender", "occupation"} <= set(ratings.users.columns)
    assert ratings.rating_range == (1.0, 5.0) and ratings.suggested_y_range() == (0.0, 5.5)


def test_ml100k_folder(tmp_path):
    write(tmp_path / "u.data", "1\t10\t4\t881250949\n1\t20\t3\t881250950\n2\t10\t5\t881250951\n")
    flags = "|".join(["0"] * 19)
    action = "|".join(["0", "1"] + ["0"] * 17)
    write(tmp_path / "u.item", f"10|Amélie (2001)|01-Jan-2001||http://x|{action}\n20|Heat (1995)|01-Jan-1995||http://y|{flags}\n",
          encoding="latin-1")
    write(tmp_path / "u.user", "1|24|M|technician|85711\n2|53|F|other|94043\n")
    assert detect_movielens_format(tmp_path) == "ml-100k"
    ratings = load_movielens_folder(tmp_path)
    assert ratings.n_ratings == 3 and ratings.titles[ratings.item_to_index(10)] == "Amélie (2001)"
    assert ratings.items.loc[ratings.item_to_index(10), "genres"] == ["Action"]
    assert ratings.items.loc[ratings.item_to_index(20), "year"] == 1995
    assert list(ratings.users["occupation"]) == ["technician", "other"]


def test_ml1m_folder_double_colon_latin1(tmp_path):
    write(tmp_path / "ratings.dat", "1::1193::5::978300760\n1::661::3::978302109\n2::1193::4::978298413\n")
    write(tmp_path / "movies.dat", "1193::One Flew Over the Cuckoo's Nest (1975)::Drama\n"
                                   "661::Café (1996)::Animation|Children's\n", encoding="latin-1")
    write(tmp_path / "users.dat", "1::F::1::10::48067\n2::M::56::16::70072\n")
    ratings = load_movielens_folder(tmp_path)
    assert ratings.n_ratings == 3
    assert ratings.titles[ratings.item_to_index("661")] == "Café (1996)"
    assert ratings.items.loc[ratings.item_to_index("661"), "genres"] == ["Animation", "Children's"]


def test_ml_latest_folder_csv(tmp_path):
    write(tmp_path / "ratings.csv",
          "userId,movieId,rating,timestamp\n1,1,4.0,964982703\n1,3,4.5,964981247\n2,1,2.5,1\n")
    write(tmp_path / "movies.csv", 'movieId,title,genres\n1,Toy Story (1995),Adventure|Animation\n'
                                   '3,"Grumpier Old Men, The (1995)",(no genres listed)\n')
    ratings = load_dataset(tmp_path)
    assert ratings.titles[ratings.item_to_index(3)] == "Grumpier Old Men, The (1995)"
    assert ratings.items.loc[ratings.item_to_index(3), "genres"] == []
    assert ratings.rating.tolist() == [4.0, 4.5, 2.5]


def test_movielens_folder_with_a_missing_file_names_it(tmp_path):
    write(tmp_path / "ratings.csv", "userId,movieId,rating\n1,1,4\n")
    with pytest.raises(DataError, match="movies.csv is missing"):
        load_movielens_folder(tmp_path)
    with pytest.raises(DataError, match="no MovieLens ratings file"):
        load_movielens_folder(tmp_path / "..")


@pytest.mark.parametrize("sep", [",", "\t", ";", "|"])
def test_csv_with_any_common_separator_and_guessed_columns(tmp_path, sep):
    path = write(tmp_path / "r.csv", sep.join(["user_id", "movieId", "rating", "title"]) + "\n" +
                 "\n".join(sep.join(row) for row in [["a", "x", "4", "X (2000)"], ["b", "x", "2", "X (2000)"],
                                                     ["a", "y", "5", "Y"]]) + "\n")
    ratings = load_table(path)
    assert ratings.n_users == 2 and ratings.n_items == 2
    assert ratings.titles[ratings.item_to_index("x")] == "X (2000)"
    assert ratings.items.loc[ratings.item_to_index("x"), "year"] == 2000


def test_csv_with_named_columns_and_a_separate_items_file(tmp_path):
    path = write(tmp_path / "r.csv", "who,what,stars\n1,7,3\n2,7,4\n2,8,1\n")
    items = write(tmp_path / "items.csv", "item_id,title,genres\n7,Seven (1995),Crime|Thriller\n8,Heat (1995),\n")
    ratings = load_table(path, ColumnMap(user="who", item="what", rating="stars"), items_path=items)
    assert ratings.titles[0] == "Seven (1995)" and ratings.items.loc[0, "genres"] == ["Crime", "Thriller"]


def test_parquet(tmp_path):
    path = tmp_path / "r.parquet"
    pd.DataFrame({"user": [1, 2, 2], "item": [5, 5, 6], "rating": [1.0, 2.0, 3.5]}).to_parquet(path)
    ratings = load_table(path)
    assert ratings.n_ratings == 3 and ratings.item_ids.tolist() == ["5", "6"]


def test_latin1_csv_is_read_without_mojibake(tmp_path):
    path = write(tmp_path / "r.csv", "user,item,rating,title\n1,1,4,Amélie (2001)\n2,2,3,Café (1999)\n",
                 encoding="latin-1")
    assert list(load_table(path).titles) == ["Amélie (2001)", "Café (1999)"]


def test_explicit_validation_file(tmp_path):
    train = write(tmp_path / "train.csv", "user,item,rating\n1,a,4\n1,b,3\n2,a,5\n2,c,2\n")
    # user 3 never appears in training (cold start); (1, a) repeats a training pair
    valid = write(tmp_path / "valid.csv", "user,item,rating\n1,c,1\n3,a,4\n1,a,2\n")
    ratings, split = load_train_valid(train, valid)
    assert len(split.train) == 4 and len(split.valid) == 1
    row = split.valid[0]
    assert (ratings.user_ids[ratings.user_index[row]], ratings.item_ids[ratings.item_index[row]]) == ("1", "c")
    assert any("cold start" in note for note in ratings.notes)
    assert any("repeat" in note for note in ratings.notes)
    with pytest.raises(DataError, match="no usable validation rating"):
        load_train_valid(train, write(tmp_path / "v2.csv", "user,item,rating\n9,a,1\n"))


def test_duplicate_pairs_are_averaged_with_a_note(tmp_path):
    ratings = load_table(write(tmp_path / "r.csv", "user,item,rating\n1,1,2\n1,1,4\n2,1,5\n2,2,1\n"))
    assert ratings.n_ratings == 3 and sorted(ratings.rating.tolist()) == [1.0, 3.0, 5.0]
    assert "averaged" in ratings.notes[0]


@pytest.mark.parametrize("content, message", [
    ("", "empty"),
    ("user,item,rating\n", "no ratings"),
    ("user,item,score_x\n1,2,3\n", "no rating column"),
    ("user,film,rating\n1,2,3\n", "no item column"),
    ("user,item,rating\n1,2,good\n", "row 1: rating 'good' is not a finite number"),
    ("user,item,rating\n1,2,3\n1,3,\n", "row 2: rating '' is not a finite number"),
    ("user,item,rating\n1,2,nan\n", "not a finite number"),
    ("user,item,rating\n1,2,inf\n", "not a finite number"),
    ("user,item,rating\n,2,3\n", "row 1: the user id is empty"),
    ("user,item,rating\n1,2,3\n1,2,3,4,5\n", "different numbers of fields"),
    ("user item rating\n1 2 3\n", "column"),
])
def test_bad_tables_name_the_problem(tmp_path, content, message):
    with pytest.raises(DataError, match=message):
        load_table(write(tmp_path / "bad.csv", content))


def test_binary_junk_and_size_limit(tmp_path):
    junk = tmp_path / "junk.csv"
    junk.write_bytes(bytes(range(256)) * 10)
    with pytest.raises(DataError, match="binary"):
        load_table(junk)
    big = write(tmp_path / "big.csv", "user,item,rating\n" + "1,2,3\n" * 1000)
    with pytest.raises(DataError, match="above the"):
        load_table(big, max_bytes=100)
    with pytest.raises(DataError, match="no such file"):
        load_table(tmp_path / "missing.csv")


def test_unknown_ids_and_ambiguous_titles_are_named():
    ratings = load_builtin()
    with pytest.raises(UnknownIdError, match="'99999'"):
        ratings.item_to_index(["1", "99999"])
    with pytest.raises(UnknownIdError, match="unknown user id"):
        ratings.user_to_index("nobody")
    with pytest.raises(AmbiguousTitleError) as info:
        ratings.find_item("star trek")
    assert any("Star Trek: First Contact (1996)" in c for c in info.value.candidates)
    assert ratings.item_ids[ratings.find_item("goldeneye")] == "2"
    assert ratings.item_ids[ratings.find_item(50)] == "50"
    with pytest.raises(UnknownIdError, match="no item"):
        ratings.find_item("zzzz no such film")


def test_density_filter_is_applied_until_stable():
    ratings = load_builtin()
    filtered, report = ratings.filter_density(min_user_ratings=50, min_item_ratings=50)
    assert filtered.user_counts.min() >= 50 and filtered.item_counts.min() >= 50
    assert report.after["density"] > report.before["density"] and report.rounds >= 2
    assert report.before["ratings"] == 100_000 and report.after["ratings"] == filtered.n_ratings
    # titles still follow their items after re-indexing
    assert filtered.titles[filtered.item_to_index("50")] == "Star Wars (1977)"
    with pytest.raises(DataError, match="leaves no ratings"):
        ratings.filter_density(10_000, 0)


def test_random_split_is_seeded_and_disjoint():
    frame = pd.DataFrame({"user": np.arange(100) % 7, "item": np.arange(100), "rating": np.ones(100)})
    ratings = Ratings.from_frame(frame)
    a, b = random_split(ratings, 0.2, 3), random_split(ratings, 0.2, 3)
    assert np.array_equal(a.valid, b.valid) and len(a.valid) == 20
    assert not set(a.train) & set(a.valid) and len(a.train) + len(a.valid) == 100
    with pytest.raises(DataError, match="too few"):
        random_split(ratings.subset(np.array([0, 1])), 0.1, 0)
