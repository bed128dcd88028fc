"""Runs on disk: trained or imported models saved as safetensors + JSON, never pickle.

  store     RunStore: list, save (atomically), load, rename, delete and pin runs
  schema    run.json's fields and the checks that every file of a run passes before it is used
  ids       what a run id may be (a plain name, never a path)
  importer  embeddings trained elsewhere (Projector TSV, .npy, CSV/Parquet tables) made into a run
  export    a run's item vectors as CSV, Projector TSV or Parquet

May import: collab_core.model, collab_core.data, collab_core.errors, collab_core.settings.
"""
