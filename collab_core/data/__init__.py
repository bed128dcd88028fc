"""Data in and out: where ratings come from and what they are called.

  datasets       the built-in MovieLens 100K, MovieLens folders, CSV/Parquet uploads -> Ratings
  ratings        Ratings: dense indices, raw<->index maps, metadata, density filter, the random split
  splits         per-user splits for ranking evaluation: stratified (seeded) and by time
  catalog        ItemCatalog: titles, genres and years of the items, and titles that tell colliding ones apart
  tables         reading CSV/Parquet tables with errors that name the file, column, row and value
  fetch          downloading the larger MovieLens sizes (checked, resumable, size-capped)
  cache          a parsed dataset kept as .npy columns so the next load is fast
  roots          which folders a user may load ratings from
  search         search-as-you-type over items and users, with counts of what matched
  nouns          what a run's items are called (movies, an import's own noun, items)
  rating_values  the rating values present in the ratings (the stars a new user is offered)

May import: collab_core.errors, collab_core.settings, and each other. Never torch models, runs or analysis.
"""
