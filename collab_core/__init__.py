"""collab_core: the engine of the CF Embedding Explorer, importable without Streamlit.

Sub-packages, one concept each (each one's docstring lists its modules and what it may import):
  data/      where ratings come from and what they are called: datasets, Ratings, catalog, tables, fetch,
             the parse cache, search, nouns, the rating values
  model/     the model kinds, their networks, TrainConfig, fit() and lr_find(), optimisers, memory estimate,
             baselines, presets, TrainedModel, the verdict on a run
  runs/      runs on disk (safetensors + JSON): the store, run.json's schema, run ids, import and export
  analysis/  what a run learned: bias rankings, PCA/UMAP maps, neighbours, two runs compared, diagnostics, and
             the fold-in of a new user (its inputs, its solvers, its explanations)
  cli/       `python -m collab_core train|neighbours|runs|bench|recommend|compare|import-embeddings|export|data`
  bench/     every benchmark: numbers, not assertions (engine ones through `bench`, the dashboard's as modules)
and two modules everything may use: errors (the exception classes) and settings (the COLLAB_* variables).

Layers, lowest first: errors, settings -> data -> model -> analysis, runs -> cli, bench. A package imports only
from those before it (tests/core/test_imports.py checks it). Importing collab_core imports neither streamlit
nor umap; sub-packages are imported where used.
"""
from collab_core.errors import (
                     AmbiguousTitleError,
                     CollabError,
                     ConfigError,
                     DataError,
                     DeviceError,
                     RunStoreError,
                     TrainingCancelled,
                     TrainingDivergedError,
                     UnknownIdError,
)

__all__ = [
    "AmbiguousTitleError", "CollabError", "ConfigError", "DataError", "DeviceError", "RunStoreError",
    "TrainingCancelled", "TrainingDivergedError", "UnknownIdError",
]
