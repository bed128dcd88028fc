"""What a run id may be: a plain name that is safe as a folder name, never a path.

Kept apart from the store so that collab_core.settings can check a run id from the environment without
importing torch.
"""
from __future__ import annotations

import re

RUN_ID_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$")


def valid_run_id(run_id) -> bool:
    """A plain name: letters, digits, '.', '_' and '-', at most 128 characters, never '..'."""
    return isinstance(run_id, str) and bool(RUN_ID_PATTERN.match(run_id)) and ".." not in run_id
