"""The command line, `python -m collab_core ...` (see `main` for the commands).

  main    the argument parser and every command but the data and export ones
  data    `python -m collab_core data fetch|list`
  export  `python -m collab_core export --run ID --format csv|projector|parquet --out DIR`: a run's item embeddings
          as files

May import every other package of collab_core.
"""
