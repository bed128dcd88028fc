"""The command line, `python -m collab_core ...` (see `main` for the commands).

  main    the argument parser and every command but the data ones
  data    `python -m collab_core data fetch|list|verify|remove`

May import every other package of collab_core.
"""
