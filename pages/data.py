"""Data: choose the ratings (built-in MovieLens 100K, a MovieLens folder under the server's data folders, or an
uploaded table), filter them for density, and look at them before training; or import embeddings trained
elsewhere as a run (collab_app.import_panel)."""
import streamlit as st

from collab_app import access, cached, charts, fetch_panel, import_panel, navigation, state, work
from collab_app.messages import show_error
from collab_app.text import MISSING, md
from collab_core.data import roots as data_roots
from collab_core.data.datasets import COLUMN_CANDIDATES, ColumnMap, guess_column
from collab_core.errors import CollabError

navigation.ensure_frame()
st.title("Data")
active = work.dataset()
st.caption(f"Training uses: **{md(active.label)}**")
SOURCES = {"builtin": "Built-in MovieLens 100K", "folder": "MovieLens folder", "upload": "Upload CSV / Parquet",
           "import": "Import embeddings"}
NONE = "(none)"
FAILED = "failed"  # what a source returns when its file or folder cannot be used (the error is shown beside it)
offered, refused = access.offered_sources(list(SOURCES))  # a visitor: what they may use, and why not the rest
if st.session_state.get("p_data_source") not in offered:
    st.session_state["p_data_source"] = active.kind if active.kind in offered else "builtin"


def use_fetched(folder: str) -> None:
    """Button callback: preview a fetched dataset (the source and folder widgets are drawn above the panel)."""
    st.session_state["p_data_source"] = "folder"
    st.session_state["p_data_folder"] = folder


source = st.segmented_control("Source", offered, key="p_data_source", format_func=SOURCES.get, required=True)
if refused:  # a visitor: what is missing here, and why, in one paragraph
    st.caption(md(" ".join(refused)))
if source == "import":  # not ratings to train on: vectors trained elsewhere, saved as a run
    import_panel.draw()
    st.stop()


def column_mapping(header: list[str]) -> ColumnMap:
    """One selectbox per role, each guessed from the column names (collab_core.data.datasets.guess_column)."""
    cols = st.columns(5)
    chosen = {}
    for i, (role, label) in enumerate([("user", "user"), ("item", "item"), ("rating", "rating"),
                                       ("title", "title (optional)"), ("genres", "genres (optional)")]):
        optional = role in ("title", "genres")
        choices = [NONE, *header] if optional else header
        guessed = guess_column(header, COLUMN_CANDIDATES[role])
        fallback = NONE if optional else header[min(i, len(header) - 1)]
        chosen[role] = cols[i].selectbox(label, choices, key=f"map_{role}",
                                         index=choices.index(guessed if guessed is not None else fallback),
                                         help="Genres joined by '|', as MovieLens writes them." if role == "genres"
                                         else None)
    return ColumnMap(chosen["user"], chosen["item"], chosen["rating"],
                     None if chosen["title"] == NONE else chosen["title"],
                     None if chosen["genres"] == NONE else chosen["genres"])


def failed(where, exc: CollabError, names: dict[str, str]) -> str:
    """Show why the chosen file or folder cannot be used in `where`, right under its control."""
    show_error(exc, where, names)
    where.caption(f"Training still uses **{md(active.label)}**.")
    return FAILED


def upload_spec():
    upload = st.file_uploader(f"Ratings table (CSV, TSV or Parquet, at most {cached.upload_limit_mb()} MB)",
                              type=["csv", "tsv", "txt", "parquet"], key="data_upload",
                              max_upload_size=cached.upload_limit_mb())
    if upload is None:
        if active.kind == "upload":  # kept for this browser (a reload, another tab): the box itself starts empty
            st.caption(f"Training uses **{md(active.label)}**, uploaded earlier. Upload it again to see it here or "
                       f"to map its columns anew.")
        return None
    problem = st.container()  # right under the uploader, above the column mapping: in view when it goes wrong
    uploads = work.uploads()
    keep = (active.path,) if active.kind == "upload" else ()
    data = upload.getvalue()
    names = {str(uploads.path_for(upload.name, data)): upload.name}  # stored under a hash; the person knows this
    try:
        path = uploads.save(upload.name, data, keep=keep)
        header = cached.upload_columns(str(path), cached.upload_limit_bytes(), upload.name)
    except CollabError as exc:
        return failed(problem, exc, names)
    st.caption("Map the columns (guessed from their names):")
    mapping = column_mapping(header)
    scale = None
    s1, s2, s3 = st.columns([1.2, 1, 1])
    if s1.checkbox("Declare the rating scale", key="p_data_scale_on",
                   help="Ratings outside it are then refused with the row named, instead of being taken as they are."):
        scale = (float(s2.number_input("lowest rating", value=1.0, key="p_data_scale_low")),
                 float(s3.number_input("highest rating", value=5.0, key="p_data_scale_high")))
    spec = cached.DatasetSpec("upload", str(path), upload.name, mapping, rating_scale=scale)
    try:
        cached.read_dataset(spec)  # every row is checked here, so a bad one is named under the uploader
    except CollabError as exc:
        return failed(problem, exc, names)
    return spec


def folder_spec():
    roots = data_roots.roots()
    found = data_roots.dataset_folders(roots)
    st.session_state.setdefault("p_data_folder", active.path if active.kind == "folder" else "")
    folder = st.text_input("Folder as downloaded from GroupLens (ml-100k, ml-1m, ml-latest-small, ml-25m, ...)",
                           key="p_data_folder", placeholder=str(found[0] if found else roots[0] / "ml-1m"),
                           help="Only folders under this server's data folders can be opened: "
                                + ", ".join(str(r) for r in roots) + " (COLLAB_DATA_ROOTS).")
    problem = st.container()  # right under the box
    if found:
        st.caption("Found there: " + ", ".join(md(f) for f in found))  # md() escapes: no code span, whose
        # backslashes would show
    if not folder:
        return None
    names = {folder: folder}  # as typed
    try:
        path = data_roots.allowed_folder(folder, roots)
        names[str(path)] = path.name
        spec = cached.DatasetSpec("folder", str(path), f"MovieLens {path.name}")
        cached.read_dataset(spec)  # a folder without MovieLens files is named under the box
    except CollabError as exc:
        return failed(problem, exc, names)
    return spec


spec = {"builtin": lambda: cached.DatasetSpec(), "folder": folder_spec, "upload": upload_spec}[source]()
fetch_panel.panel(use_fetched)

st.subheader("Density filter")
st.caption("Structure only appears where the data is dense enough: drop users and items with few ratings "
           "(applied repeatedly until every remaining user and item meets both minimums).")
f1, f2 = st.columns(2)
st.session_state.setdefault("p_data_min_user", active.min_user_ratings)
st.session_state.setdefault("p_data_min_item", active.min_item_ratings)
min_user = f1.number_input("Min ratings per user", 0, 100_000, key="p_data_min_user")
min_item = f2.number_input("Min ratings per item", 0, 100_000, key="p_data_min_item")
if spec is None:
    st.info("Choose a folder or upload a file to preview it. The dataset used for training stays as it is until "
            "you press **Use this dataset**.")
    st.stop()
if spec == FAILED:
    st.stop()
spec = cached.DatasetSpec(spec.kind, spec.path, spec.label, spec.columns, int(min_user), int(min_item),
                          spec.rating_scale)

try:
    ratings, report = cached.load_dataset(spec)
except CollabError as exc:  # the density filter left too little: said here, beside the filter
    show_error(exc, names={spec.path: spec.label})
    st.caption(f"Training still uses **{md(active.label)}**.")
    st.stop()

is_active = spec == active
if st.button("Use this dataset" if not is_active else "This is the dataset used for training", disabled=is_active,
             type="primary", key="use_dataset"):
    work.set_dataset(spec)
    state.notice_success(f"Training now uses {md(spec.label)}.")
    st.rerun()
for note in ratings.notes:
    st.caption(f"Note: {md(note)}")

filtered = bool(min_user or min_item)
m = st.columns(4)
for column, (label, what) in zip(m, [("Users", "users"), ("Items", "items"), ("Ratings", "ratings")]):
    now = ratings.sizes()[what]
    column.metric(label, f"{now:,}", delta=f"{now - report.before[what]:,}" if filtered else None)
m[3].metric("Density", f"{ratings.density:.2%}", help=f"before the filter: {report.before['density']:.2%}")
if filtered:
    st.caption(f"Filter: {report.summary()}")
h1, h2 = st.columns(2)
h1.plotly_chart(charts.rating_histogram(ratings.rating), key="data_hist")
h2.plotly_chart(charts.long_tail(ratings.item_counts), key="data_tail")
st.subheader("Preview")
st.dataframe(ratings.to_frame(slice(0, 200)), hide_index=True, placeholder=MISSING, key="data_preview")
