"""`python -m collab_core ...`: see collab_core/cli.py."""
import sys

from .cli import main

sys.exit(main())
