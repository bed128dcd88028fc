"""collab_core stays light: importing any of its modules pulls in neither streamlit nor umap (nor numba).
Every module is found by walking the package, so a new one is checked without editing this test."""
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CODE = """
import importlib, pkgutil, sys
import collab_core
for module in pkgutil.iter_modules(collab_core.__path__):
    if module.name != "__main__":
        importlib.import_module(f"collab_core.{module.name}")
print(sorted({m.split('.')[0] for m in sys.modules} & {'streamlit', 'umap', 'numba'}))
"""


def test_no_module_of_collab_core_imports_streamlit_or_umap():
    out = subprocess.run([sys.executable, "-c", CODE], cwd=ROOT, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
