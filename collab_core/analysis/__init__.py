"""What a trained run learned, read back for people.

  interpret        bias rankings, PCA with loadings, UMAP (imported lazily), KD-tree neighbours
  axes             custom axes: an axis named by two groups of items (search terms), each item's place along it
  regions          a 2D map's points clustered, each region named by its over-represented genres and best-known titles
  compare          two runs over their shared items: bias ranks, neighbour stability, aligned maps
  diagnostics      one prediction's parts, embedding norm vs popularity, validation error by count
  ranking          top-k metrics of a run and of the baselines (most popular, random) on a split
  foldin_inputs    a new user's ratings read and checked, the star scale, popular items to start with
  foldin           a new user's vector from their ratings against a run's frozen items (the solvers)
  foldin_explain   the new user's predictions, recommendations with "because", nearest users, map spot

May import: collab_core.model, collab_core.data, collab_core.errors. Never runs (callers load them).
"""
