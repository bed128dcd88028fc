"""collab_app: the Streamlit side of the dashboard, what pages import besides collab_core.

  navigation  the page list and the guard that keeps pages inside the frame (app.py)
  browser     the browser behind a session: its owner id (storage and cookie) and its history rule
  style       the few style rules added for a projector-sized window
  sidebar     the shared sidebar: active run, its dataset, this browser's work, downloads
  state       the session-state entries of the frame and pages (URL, notices, the active run), accessors
  options     page options declared once with run-dependent bounds and defaults, kept inside them
  work        this browser's background work (listed, announced) and what it keeps across reloads
  progress    starting a training, its live progress, and the one-click default run
  picker      one search-based picker for items and users
  run_labels  how a run and a model kind read in lists and captions
  text        untrusted text escaped for Streamlit's Markdown; tables with no "None" in them
  messages    an error as the visitor reads it (their names, no server paths), beside its control; logged in full
  cached      every st.cache_* wrapper around collab_core
  services    process-wide singletons: the training service, downloads, UMAP, what each browser started and keeps
  train_form  the Train page's form, drawn from TrainConfig's Bounds
  uploads     private, self-deleting upload folders per browser
  import_panel  the Data page's "Import embeddings": vectors trained elsewhere become a run
  fetch_panel   the Data page's "Get a MovieLens dataset"
  compare_choice  which run B Compare opens on
  charts      Plotly figure builders (no Streamlit calls)
collab_core never imports from here; collab_server holds the runtime without Streamlit calls.
"""
