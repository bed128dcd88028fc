"""collab_app: the Streamlit side of the dashboard, what pages import besides collab_core.

  navigation  the page list and the guard that keeps pages inside the frame (app.py)
  sidebar     the shared sidebar: active run, its dataset, downloads
  state       every non-widget session-state entry, the URL, one-shot notices, the active run accessor
  options     page options declared once with run-dependent bounds, kept inside them
  text        untrusted text escaped for Streamlit's Markdown
  messages    an error as the visitor reads it (their names, no server paths), beside its control; logged in full
  cached      every st.cache_* wrapper around collab_core
  services    process-wide singletons: the training service, UMAP computations
  progress    this session's training on screen, and the one-click default run
  train_form  the Train page's form, drawn from TrainConfig's Bounds
  uploads     private, self-deleting upload folders per session
  import_panel  the Data page's "Import embeddings": vectors trained elsewhere become a run
  charts      Plotly figure builders (no Streamlit calls)
collab_core never imports from here; collab_server holds the runtime without Streamlit calls.
"""
