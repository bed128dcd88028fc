"""collab_core.analysis.regions: well-separated blobs of items, each of one genre, become one region each,
labelled by that genre and its most rated titles, with the label on the blob; the same map, the same regions."""
import numpy as np
import pytest

from collab_core.analysis.regions import default_count, find_regions, short_title

CENTRES = {"Horror": (0.0, 0.0), "Romance": (10.0, 0.0), "Western": (0.0, 10.0), "Musical": (10.0, 10.0)}


def blobs(per_blob: int = 60, seed: int = 0):
    """Four tight blobs, one genre each (plus "Drama", shared by every item, which sets no blob apart)."""
    rng = np.random.default_rng(seed)
    coords, genres, titles, blob = [], [], [], []
    for b, (genre, centre) in enumerate(CENTRES.items()):
        coords.append(rng.normal(centre, 0.5, (per_blob, 2)))
        genres += [[genre, "Drama"]] * per_blob
        titles += [f"{genre} film {i} (1990)" for i in range(per_blob)]
        blob += [b] * per_blob
    counts = rng.integers(1, 1000, len(titles))
    return np.vstack(coords), genres, counts, np.array(titles, dtype=object), np.array(blob)


def test_each_blob_is_one_region_named_by_its_genre_and_best_known_titles():
    coords, genres, counts, titles, blob = blobs()
    regions = find_regions(coords, genres, counts, titles, n_regions=4)
    assert len(regions) == 4 and sorted(r.size for r in regions) == [60] * 4
    for region in regions:
        members_blob = set(blob[region.members])
        assert len(members_blob) == 1  # one blob, all of it
        genre = list(CENTRES)[members_blob.pop()]
        assert [g for g, _, _ in region.genres] == [genre]  # "Drama" is everywhere: no lift
        assert region.genres[0][1] == 1.0 and region.genres[0][2] == pytest.approx(4.0)
        most_rated = region.members[np.argsort(-counts[region.members], kind="stable")[:2]]
        assert list(region.titles) == list(titles[most_rated])
        assert region.text == f"{genre} — " + ", ".join(t.removesuffix(" (1990)") for t in titles[most_rated])
        # the label sits on the blob: one of its points, near its centre
        assert region.at in {(float(x), float(y)) for x, y in coords[region.members]}
        assert np.hypot(*(np.array(region.at) - CENTRES[genre])) < 1.0


def test_the_same_map_gets_the_same_regions_numbered_largest_first():
    coords, genres, counts, titles, _ = blobs()
    keep = np.r_[0:60, 60:100, 120:180, 180:200]  # blobs of 60, 40, 60, 20 points
    first = find_regions(coords[keep], [genres[i] for i in keep], counts[keep], titles[keep], n_regions=4)
    again = find_regions(coords[keep], [genres[i] for i in keep], counts[keep], titles[keep], n_regions=4)
    assert [r.size for r in first] == [60, 60, 40, 20]
    assert [(r.text, r.at, list(r.members)) for r in first] == [(r.text, r.at, list(r.members)) for r in again]


def test_axes_of_different_units_weigh_alike():
    coords, genres, counts, titles, blob = blobs()
    stretched = coords * [1000.0, 0.001]  # x in thousands, y in thousandths: both still split the blobs
    regions = find_regions(stretched, genres, counts, titles, n_regions=4)
    assert all(len(set(blob[r.members])) == 1 for r in regions)


def test_a_genre_few_members_have_does_not_name_a_region():
    coords, genres, counts, titles, _ = blobs()
    genres = [list(g) for g in genres]
    genres[0] = genres[0] + ["Film-Noir"]  # one item of the Horror blob: a huge lift, one member
    regions = find_regions(coords, genres, counts, titles, n_regions=4)
    assert all("Film-Noir" not in [g for g, _, _ in r.genres] for r in regions)


def test_region_counts_and_short_titles():
    assert [default_count(n) for n in (1, 2, 19, 20, 50, 250, 1000, 59_047)] == [0, 0, 0, 2, 2, 2, 8, 8]
    assert default_count(1000, most=4) == 4
    assert short_title("Star Wars (1977)") == "Star Wars"
    assert short_title("Dr. Strangelove or: How I Learned to Stop Worrying (1963)") == "Dr. Strangelove or: H…"
    assert find_regions(np.zeros((0, 2)), [], np.zeros(0), []) == []
    one = find_regions(np.zeros((3, 2)), [[], [], []], np.ones(3), ["a", "b", "c"], n_regions=2)  # no genres, one spot
    assert sum(r.size for r in one) == 3 and all(r.genres == () for r in one)
