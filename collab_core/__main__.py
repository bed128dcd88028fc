"""`python -m collab_core ...`: see collab_core/cli/main.py."""
import sys

from collab_core.cli.main import main

sys.exit(main())
