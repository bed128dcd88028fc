"""Imported embeddings in the app: the Data page's Import panel makes uploaded vectors the active run,
and every page works with an imported run active, saying in one line what it cannot show for lack of biases,
counts or a training history. Hostile titles and names from imported files stay text."""
import pytest

from collab_core.runs import export
from collab_core.runs.store import RunStore
from tests.hostile import HOSTILE

from .conftest import PAGES, import_and_wait, no_exceptions, open_app, owner_of, shown, use_copy_of
from .test_escaping import assert_nothing_hostile_is_markup


@pytest.fixture()
def runs_with_imports(imported_runs, tmp_path, monkeypatch):
    return use_copy_of(imported_runs, tmp_path, monkeypatch)


@pytest.mark.parametrize("variant", ["bare", "full"])
@pytest.mark.parametrize("page", PAGES)
def test_every_page_works_with_an_imported_run_active(runs_with_imports, page, variant):
    at = open_app(page, {"run": variant})
    assert no_exceptions(at), [e.value for e in at.exception]
    assert at.sidebar.selectbox(key="p_run").value == variant
    assert "Imported from:" in shown(at.sidebar.caption)
    text = shown(at.warning) + " " + shown(at.caption)
    if page == "pages/biases.py" and variant == "bare":
        assert "This imported run has no biases for its items" in shown(at.warning)
    if page == "pages/biases.py" and variant == "full":
        assert len(at.dataframe[0].value) == 15 and at.dataframe[0].value["bias"].is_monotonic_decreasing
        assert len(at.get("plotly_chart")) == 2  # bias vs mean rating, and the user biases
    if page == "pages/train.py":
        assert f"Active run {variant} is imported" in text and "no loss history" in text
    if page == "pages/neighbours.py":
        assert len(at.dataframe[0].value) == 10
        assert at.number_input(key="p_nb_min").value == (0 if variant == "bare" else 20)
        assert at.number_input(key="p_nb_min").disabled == (variant == "bare")
    if page == "pages/projections.py":
        assert at.get("plotly_chart") and at.slider(key="p_pj_top").label == (
            "The first N items of the file" if variant == "bare" else "The N most rated items")


def test_hostile_text_of_an_imported_run_is_text_on_every_page(runs_with_imports):
    for page in PAGES:
        at = open_app(page, {"run": "hostile"})
        assert no_exceptions(at), [e.value for e in at.exception]
        assert_nothing_hostile_is_markup(at)
    assert HOSTILE[2] in shown(at.sidebar.caption) and HOSTILE[0] in shown(at.sidebar.markdown)


def import_page(at_run=None):
    at = open_app("pages/data.py")
    at.segmented_control(key="p_data_source").set_value("import").run()
    return at


def test_the_panel_imports_a_projector_pair_and_makes_it_the_active_run(with_run):
    root, run_id = with_run
    vectors, metadata = export.projector_files(RunStore(root).load(run_id))
    at = import_page()
    assert no_exceptions(at) and "Upload the item vectors" in shown(at.info)
    at.file_uploader(key="imp_vectors").set_value(("vectors.tsv", vectors, "text/tab-separated-values")).run()
    at.file_uploader(key="imp_metadata").set_value(("metadata.tsv", metadata, "text/tab-separated-values")).run()
    assert "1,682 item vectors of dimension 8" in shown(at.caption)
    assert at.selectbox(key="imp_id_col").value == "item" and at.selectbox(key="imp_title_col").value == "title"
    at.text_input(key="imp_name").input("from elsewhere").run()
    import_and_wait(at)  # it runs in the background: a reload would not lose it
    assert no_exceptions(at), [e.value for e in at.exception]
    new = at.sidebar.selectbox(key="p_run").value
    assert new != run_id and "imported" in new and "It is now the active run" in shown(at.success)
    loaded = RunStore(root).load(new)
    assert loaded.imported and loaded.name == "from elsewhere" and loaded.dataset == "vectors.tsv + metadata.tsv"
    at.switch_page("pages/neighbours.py").run()
    assert no_exceptions(at) and len(at.dataframe[0].value) == 10


def test_columns_that_are_not_obvious_are_asked_for(empty_runs):
    at = import_page()
    at.file_uploader(key="imp_vectors").set_value(("v.tsv", b"1\t2\n3\t4\n2\t2\n", "text/plain")).run()
    at.file_uploader(key="imp_metadata").set_value(("m.csv", b"key,caption\nk1,One\nk2,Two\nk3,Three\n",
                                                    "text/csv")).run()
    assert at.selectbox(key="imp_id_col").value == "key" and at.selectbox(key="imp_title_col").value is None
    assert at.button(key="imp_go").disabled
    at.selectbox(key="imp_title_col").set_value("caption").run()
    import_and_wait(at)
    assert no_exceptions(at), [e.value for e in at.exception]
    run = RunStore(empty_runs).load(at.sidebar.selectbox(key="p_run").value)
    assert list(run.catalog.titles) == ["One", "Two", "Three"] and list(run.catalog.vocab.ids) == ["k1", "k2", "k3"]


@pytest.mark.parametrize("name, data, message", [
    ("v.tsv", b"1\t2\n3\n", "v.tsv: row 2 has 1 value(s) but row 1 has 2"),
    ("v.npy", b"\x93NUMPY junk", "v.npy: not a readable .npy file"),
    ("v.tsv", b"1\tinf\n3\t4\n", "v.tsv: row 1, column 2: 'inf' is not finite"),
])
def test_a_bad_vectors_upload_is_named_and_nothing_is_imported(empty_runs, name, data, message):
    at = import_page()
    at.file_uploader(key="imp_vectors").set_value((name, data, "application/octet-stream")).run()
    assert no_exceptions(at) and message in shown(at.error)
    assert not [b for b in at.button if b.key == "imp_go"]
    assert not empty_runs.exists() or not list(empty_runs.iterdir())


def test_bad_user_vectors_are_named_when_importing_and_nothing_is_saved(empty_runs):
    at = import_page()
    at.file_uploader(key="imp_vectors").set_value(("v.tsv", b"1\t2\n3\t4\n", "text/plain")).run()
    at.file_uploader(key="imp_user_vectors").set_value(("u.tsv", b"1\t2\t3\n4\t5\t6\n", "text/plain")).run()
    import_and_wait(at)
    assert no_exceptions(at)
    assert "Nothing was imported: u.tsv: the user vectors have 3 dimension(s)" in shown(at.error)
    assert not empty_runs.exists() or not [p for p in empty_runs.iterdir() if not p.name.startswith(".")]


def test_the_import_files_stay_private_and_are_not_rewritten_on_every_rerun(empty_runs):
    from collab_app import services

    at = import_page()
    at.file_uploader(key="imp_vectors").set_value(("v.npy", b"1\t2\n3\t4\n", "application/octet-stream")).run()
    at.file_uploader(key="imp_metadata").set_value(("m.tsv", b"a\nb\n", "text/plain")).run()
    folder = services.owner_memory().get(owner_of(at), "uploads").folder
    files = {p.name: p.stat().st_mtime_ns for p in folder.iterdir()}
    assert len(files) == 2 and {p.suffix for p in folder.iterdir()} == {".npy", ".tsv"}
    assert all(p.stat().st_mode & 0o077 == 0 for p in folder.iterdir())  # private to this server user
    at.text_input(key="imp_name").input("again").run()
    assert {p.name: p.stat().st_mtime_ns for p in folder.iterdir()} == files
