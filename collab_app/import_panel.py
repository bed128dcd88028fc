"""The Data page's "Import embeddings" panel: item vectors trained elsewhere (with their metadata, and optionally
user vectors) uploaded into this browser's private folder, checked and previewed, then saved as a run that
becomes the active run. The reading and checking is collab_core.runs.importer's, the same as the CLI's
`import-embeddings`; this module only draws the widgets."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import streamlit as st

from collab_core.data.nouns import MAX_NOUN_INPUT, from_words
from collab_core.errors import CollabError
from collab_core.runs.importer import import_embeddings
from collab_server import tasks

from . import access, cached, work
from .messages import said, show_error
from .text import md
from .uploads import BrowserUploads


@dataclass(frozen=True)
class Imported:
    """What a finished import left: the new run, the notes on how the files were read, what was imported."""

    run_id: str
    notes: list[str]
    what: str  # "1,682 items and 943 users (8 dimensions)"


VECTOR_TYPES = ["tsv", "txt", "csv", "npy", "parquet"]
METADATA_TYPES = ["tsv", "txt", "csv", "parquet"]
ROLES = {  # role -> (widget key, label)
    "vectors": ("imp_vectors", "Item vectors: vectors.tsv (no header), .npy, or a CSV/Parquet table"),
    "metadata": ("imp_metadata", "Item metadata (optional): metadata.tsv or CSV, one row per vector"),
    "user_vectors": ("imp_user_vectors", "User vectors (same formats)"),
    "user_metadata": ("imp_user_metadata", "User metadata (optional): a user id column, optionally a bias"),
}


def draw() -> None:
    """The whole panel: uploads, preview, column choice, name, and the Import button."""
    st.caption("Explore embeddings trained elsewhere (implicit's ALS, LightFM, a two-tower model, word2vec ...): "
               "they become a run like any other. The metadata names each item's id and title, and may add "
               "genres, year, count (for the \"most rated\" orderings) and bias (for the Biases page). "
               "This app's own downloads (sidebar) import back exactly.")
    uploads = _uploads()
    if uploads.get("vectors") is None:
        st.info("Upload the item vectors to preview them.", icon=":material/upload_file:")
        return
    names = {role: upload.name for role, upload in uploads.items() if upload is not None}
    try:
        paths = _save(uploads)
        found = cached.import_preview(str(paths["vectors"]), str(paths.get("metadata", "")),
                                      names["vectors"], names.get("metadata", ""))
    except CollabError as exc:
        show_error(exc, names=_known_names(uploads))
        return
    st.caption(f"{found.n_rows:,} item vectors of dimension {found.dim}.")
    for note in found.notes:
        st.caption(f"Note: {md(note)}")
    id_column, title_column = _column_choices(found)
    name_col, noun_col = st.columns(2)
    name = name_col.text_input("Run name (optional)", max_chars=80, key="imp_name")
    noun = noun_col.text_input("What are the items? (optional)", max_chars=MAX_NOUN_INPUT, key="imp_noun",
                               placeholder="e.g. foods",
                               help="The pages then speak of them so (\"Search foods\"), not of \"items\". "
                                    "For an irregular plural, give both: person / people.")
    try:  # checked as it is typed, beside its box: not only after Import
        spoken = from_words(noun)
    except CollabError as exc:
        noun_col.error(said(exc), icon=":material/error:")
        spoken, noun_ok = None, False
    else:
        noun_ok = True
        if spoken is not None:
            noun_col.caption(f"Pages will say “{md(spoken.count(1))}”, “{md(spoken.count(2))}”.")
    ready = noun_ok and (not found.columns or (id_column is not None and title_column is not None))
    running = work.latest(work.IMPORT)
    if running is not None and running.active:
        _importing()
        return
    if st.button("Import as a run", type="primary", key="imp_go", disabled=not ready):
        _start_import(paths, names, id_column, title_column, name, noun)
    if running is not None and running.task.status == "failed":  # right under the button that started it
        show_error(running.task.failure or RuntimeError(running.task.error), names=_known_names(uploads),
                   prefix="Nothing was imported: ")


def _uploads() -> dict:
    limit = cached.upload_limit_mb()
    left, right = st.columns(2)
    found = {"vectors": left.file_uploader(ROLES["vectors"][1], type=VECTOR_TYPES, key=ROLES["vectors"][0],
                                           max_upload_size=limit),
             "metadata": right.file_uploader(ROLES["metadata"][1], type=METADATA_TYPES, key=ROLES["metadata"][0],
                                             max_upload_size=limit)}
    with st.expander("User vectors (optional): a folded-in user can then find their nearest users"):
        left, right = st.columns(2)
        found["user_vectors"] = left.file_uploader(ROLES["user_vectors"][1], type=VECTOR_TYPES,
                                                   key=ROLES["user_vectors"][0], max_upload_size=limit)
        found["user_metadata"] = right.file_uploader(ROLES["user_metadata"][1], type=METADATA_TYPES,
                                                     key=ROLES["user_metadata"][0], max_upload_size=limit)
    return found


def _folder() -> BrowserUploads:
    return work.uploads()


def _known_names(uploads: dict) -> dict[str, str]:
    """Where each upload is stored -> its own file name, for the messages (collab_app.messages)."""
    folder = _folder()
    return {str(folder.path_for(upload.name, upload.getvalue())): upload.name for upload in uploads.values()
            if upload is not None}


def _save(uploads: dict) -> dict[str, Path]:
    """Each upload stored in this browser's private folder (collab_app.uploads), keeping the others of this
    import and the ratings file the browser trains on."""
    folder = _folder()
    dataset = work.dataset()
    files = {role: (upload.name, upload.getvalue()) for role, upload in uploads.items() if upload is not None}
    paths = {role: folder.path_for(name, data) for role, (name, data) in files.items()}
    kept = (*paths.values(), *([Path(dataset.path)] if dataset.kind == "upload" else []))
    return {role: folder.save(name, data, keep=kept) for role, (name, data) in files.items()}


def _column_choices(found) -> tuple[str | None, str | None]:
    """The id and title columns: selectboxes preset to the guessed columns, empty (asked) when not obvious."""
    if not found.columns:
        return None, None
    left, right = st.columns(2)
    chosen = []
    for where, key, label, guessed in ((left, "imp_id_col", "Id column", found.id_column),
                                       (right, "imp_title_col", "Title column", found.title_column)):
        if st.session_state.get(key) not in found.columns:  # another file's column: start from the guess again
            st.session_state.pop(key, None)
        index = found.columns.index(guessed) if guessed is not None else None
        chosen.append(where.selectbox(label, found.columns, index=index, key=key,
                                      placeholder="not obvious: choose the column"))
    return chosen[0], chosen[1]


def _start_import(paths: dict, names: dict, id_column, title_column, name: str, noun: str) -> None:
    """Import and save as a run in the background (collab_server.tasks), filed under this browser: a reload does
    not lose it, and its end (collab_app.work) makes the new run the active one. Only the host imports into the
    shared runs (collab_app.access)."""
    access.require(access.IMPORT, what=names["vectors"])

    def run(cancel) -> Imported:
        trained, notes = import_embeddings(
            paths["vectors"], paths.get("metadata"), id_column=id_column, title_column=title_column,
            user_vectors=paths.get("user_vectors"), user_metadata=paths.get("user_metadata"),
            max_bytes=cached.upload_limit_bytes(), names=names, item_noun=noun)
        if cancel.is_set():  # before anything is saved
            raise tasks.Cancelled()
        run_id = cached.store().save(trained, name=name)
        users = f" and {trained.n_users:,} users" if trained.n_users else ""
        return Imported(run_id, notes, f"{trained.item_noun.count(trained.n_items)}{users} ({trained.source.dim} "
                                       f"dimensions)")

    label = names["vectors"] + (f" as “{name}”" if name else "")  # several imports of vectors.tsv: told apart
    work.file(work.IMPORT, label, tasks.start(f"importing {names['vectors']}", run))
    st.rerun()


@st.fragment(run_every=1.0)
def _importing() -> None:
    """While the import runs: where it stands, and Cancel; the page is redrawn once it has ended."""
    running = work.latest(work.IMPORT)
    if running is None or not running.active:
        st.rerun(scope="app")
    st.progress(0.0, text=md(f"Importing {running.label}: {running.task.describe()}"))
    st.button("Cancel the import", key="imp_cancel", icon=":material/stop:", on_click=running.task.cancel)
