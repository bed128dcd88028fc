"""collab_core stays light: importing it pulls in neither streamlit nor umap."""
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_import_pulls_in_neither_streamlit_nor_umap():
    code = ("import sys, collab_core, collab_core.cli, collab_core.training, collab_core.interpret, collab_core.runs, "
            "collab_core.datasets, collab_core.bench, collab_core.foldin, collab_core.compare, collab_core.diagnostics, "
            "collab_core.presets; "
            "print(sorted(m for m in sys.modules if m.split('.')[0] in ('streamlit', 'umap', 'numba')))")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
