"""collab_core: the engine of the CF Embedding Explorer, importable without Streamlit.

Modules, each with one job:
  datasets   where ratings come from (built-in MovieLens 100K, MovieLens folders, CSV/Parquet)
  ratings    the Ratings model: dense indices, raw<->index maps, metadata, density filter, splits
  models     EmbeddingDot, EmbeddingDotBias, EmbeddingNN (torch nn.Modules)
  training   TrainConfig, fit(), lr_find(), baselines, device choice
  runs       RunStore: trained runs on disk (safetensors + JSON, atomic writes)
  interpret  bias rankings, PCA with loadings, UMAP (imported lazily), KD-tree neighbours
  foldin     a new user from their ratings against a run's frozen items: recommendations, "because"
  compare    two runs over their shared items: bias ranks, neighbour stability, Procrustes-aligned maps
  importer   embeddings trained elsewhere (Projector TSV, .npy, CSV/Parquet tables) made into a run
  diagnostics  one prediction's parts, embedding norm vs popularity, validation error by count
  presets    named training presets as data (fast.ai lesson 5)
  verdict    whether a run beat its baselines, in plain words, and what to try when it did not
  nouns      what a run's items are called (movies, an import's own noun, items)
  rating_values  the rating values a run's data holds (the stars a new user is offered)
  search     search-as-you-type over items and users, with counts of what matched
  cli        `python -m collab_core train|neighbours|runs|bench|recommend|compare|import-embeddings`

Importing this package imports neither streamlit nor umap; submodules are imported where used.
"""
from .errors import (
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
