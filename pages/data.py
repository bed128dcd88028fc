"""Data: choose the ratings (built-in MovieLens 100K, a MovieLens folder, or an uploaded table), filter
them for density, and look at them before training."""
from pathlib import Path

import streamlit as st

from collab_app import cached, charts, state, ui
from collab_core.datasets import ColumnMap, USER_COLUMNS, ITEM_COLUMNS, RATING_COLUMNS, TITLE_COLUMNS, \
    GENRE_COLUMNS, guess_column
from collab_core.tables import read_table
from collab_core.errors import CollabError

ui.ensure_frame()
state.to_url()  # this page owns no URL options; keep only the run
st.title("Data")
active = st.session_state.get(state.DATASET, cached.DatasetSpec())
SOURCES = {"builtin": "Built-in MovieLens 100K", "folder": "MovieLens folder", "upload": "Upload CSV / Parquet"}
st.session_state.setdefault("p_data_source", active.kind)
source = st.segmented_control("Source", list(SOURCES), key="p_data_source", format_func=SOURCES.get, required=True)


def guess(columns: list[str], candidates: list[str]) -> int | None:
    found = guess_column(columns, candidates)
    return None if found is None else columns.index(found)


spec = None
if source == "builtin":
    spec = cached.DatasetSpec()
elif source == "folder":
    st.session_state.setdefault("p_data_folder", active.path if active.kind == "folder" else "")
    folder = st.text_input("Folder as downloaded from GroupLens (ml-100k, ml-1m, ml-latest-small, ml-25m, ...)",
                           key="p_data_folder", placeholder="/home/me/Downloads/ml-1m")
    if folder:
        spec = cached.DatasetSpec("folder", str(Path(folder).expanduser()), f"MovieLens {Path(folder).name}")
else:
    upload = st.file_uploader(f"Ratings table (CSV, TSV or Parquet, at most {cached.upload_limit_mb()} MB)",
                              type=["csv", "tsv", "txt", "parquet"], key="data_upload",
                              max_upload_size=cached.upload_limit_mb())
    if upload is not None:
        try:
            path = cached.save_upload(upload.name, upload.getvalue())
            header = [str(c) for c in read_table(path, cached.upload_limit_bytes())[0].columns]
        except CollabError as exc:
            st.error(f"{upload.name}: {str(exc).split(': ', 1)[-1]}")
            header = None
        if header:
            st.caption("Map the columns (guessed from their names):")
            cols = st.columns(5)
            none = ["(none)"] + header
            user = cols[0].selectbox("user", header, index=guess(header, USER_COLUMNS) or 0, key="map_user")
            item = cols[1].selectbox("item", header, index=guess(header, ITEM_COLUMNS) or min(1, len(header) - 1), key="map_item")
            rating = cols[2].selectbox("rating", header, index=guess(header, RATING_COLUMNS) or min(2, len(header) - 1), key="map_rating")
            title_guess = guess(header, TITLE_COLUMNS)
            genre_guess = guess(header, GENRE_COLUMNS)
            title = cols[3].selectbox("title (optional)", none, index=0 if title_guess is None else title_guess + 1, key="map_title")
            genres = cols[4].selectbox("genres (optional, '|'-joined)", none, index=0 if genre_guess is None else genre_guess + 1, key="map_genres")
            mapping = ColumnMap(user, item, rating, None if title == "(none)" else title, None if genres == "(none)" else genres)
            scale = None
            s1, s2, s3 = st.columns([1.2, 1, 1])
            if s1.checkbox("Declare the rating scale", key="p_data_scale_on",
                           help="Ratings outside it are then refused with the row named, instead of being "
                                "taken as they are."):
                scale = (float(s2.number_input("lowest rating", value=1.0, key="p_data_scale_low")),
                         float(s3.number_input("highest rating", value=5.0, key="p_data_scale_high")))
            spec = cached.DatasetSpec("upload", str(path), upload.name, mapping, rating_scale=scale)

st.subheader("Density filter")
st.caption("Structure only appears where the data is dense enough: drop users and items with few ratings "
           "(applied repeatedly until every remaining user and item meets both minimums).")
f1, f2 = st.columns(2)
st.session_state.setdefault("p_data_min_user", active.min_user_ratings)
st.session_state.setdefault("p_data_min_item", active.min_item_ratings)
min_user = f1.number_input("Min ratings per user", 0, 100_000, key="p_data_min_user")
min_item = f2.number_input("Min ratings per item", 0, 100_000, key="p_data_min_item")
if spec is None:
    st.info("Choose a folder or upload a file to preview it. The active dataset stays as it is until you "
            "press **Use this dataset**.")
    st.stop()
spec = cached.DatasetSpec(spec.kind, spec.path, spec.label, spec.columns, int(min_user), int(min_item),
                          spec.rating_scale)

try:
    ratings, report = cached.load_dataset(spec)
except CollabError as exc:
    st.error(f"{exc}", icon=":material/error:")
    st.caption(f"The active dataset is still **{active.label}**.")
    st.stop()

is_active = spec == active
if st.button("Use this dataset" if not is_active else "This is the active dataset", disabled=is_active,
             type="primary", key="use_dataset"):
    st.session_state[state.DATASET] = spec
    state.notice_success(f"Training now uses {spec.label}.")
    st.rerun()
for note in ratings.notes:
    st.caption(f"Note: {note}")

m = st.columns(4)
m[0].metric("Users", f"{ratings.n_users:,}", delta=f"{ratings.n_users - report.before['users']:,}" if min_user or min_item else None)
m[1].metric("Items", f"{ratings.n_items:,}", delta=f"{ratings.n_items - report.before['items']:,}" if min_user or min_item else None)
m[2].metric("Ratings", f"{ratings.n_ratings:,}", delta=f"{ratings.n_ratings - report.before['ratings']:,}" if min_user or min_item else None)
m[3].metric("Density", f"{ratings.density:.2%}", help=f"before the filter: {report.before['density']:.2%}")
if min_user or min_item:
    st.caption(f"Filter: {report.summary()}")
h1, h2 = st.columns(2)
h1.plotly_chart(charts.rating_histogram(ratings.rating), key="data_hist")
h2.plotly_chart(charts.long_tail(ratings.item_counts), key="data_tail")
st.subheader("Preview")
st.dataframe(ratings.to_frame(slice(0, 200)), hide_index=True, key="data_preview")
