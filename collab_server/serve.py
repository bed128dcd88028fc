"""Start the dashboard: `python -m collab_server.serve [streamlit options]` (what `make run` does).

It is `streamlit run app.py` with the heavy libraries imported first. Streamlit runs app.py only when
a browser connects, so without this the first visitor waits for torch, scikit-learn and plotly to import
(seconds, on top of the page itself: docs/performance.md, "Figures behind choices in the code"). Imported
here, before the server starts, the first page load finds them in sys.modules. It also starts the worker
processes for training and UMAP (see collab_server.workers), which must be spawned before Streamlit runs any
script."""
from __future__ import annotations

import faulthandler
import gc
import runpy
import signal
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def preload() -> None:
    """Import what every page needs. Only libraries and collab_core: collab_app's modules declare
    Streamlit caches, which must be created once the runtime exists."""
    import pandas  # noqa: F401
    import plotly.express  # noqa: F401
    import sklearn.neighbors  # noqa: F401
    import torch  # noqa: F401

    import collab_core.analysis.interpret  # noqa: F401
    import collab_core.data.datasets  # noqa: F401
    import collab_core.model.training
    import collab_core.runs.store  # noqa: F401

    collab_core.model.training.warm_up()  # torch's lazy imports: cheap now, slow in a busy server thread


def freeze_imported_objects() -> None:
    """Move every object alive now (the ~300,000 of the imported libraries) out of the collector's reach.

    Streamlit runs a full collection after every script run, holding the GIL, and with these libraries loaded
    every other session stalled for it after each rerun anywhere (and a training session's progress
    fragment reruns every second). The collector never frees these objects anyway; after gc.freeze() a full
    collection only walks what was created since, which still stalls the server, so .streamlit/config.toml
    also turns the per-run collection off (docs/reliability.md, "Figures measured")."""
    from collab_server import timing

    timing.log_gc_pauses()
    gc.collect()  # free what is already garbage rather than freezing it
    gc.freeze()


def announce_host_link(streamlit_args: list[str]) -> None:
    """Print the host link once, where the server was started (its log): whoever opens it manages the server
    (collab_server.rules). It is never logged again. A key the operator set (COLLAB_HOST_TOKEN) is not printed:
    they know it, and logs kept by others (a service manager, a shared terminal) should not."""
    from collab_core import settings
    from collab_server import rules

    chosen = settings.get("COLLAB_HOST_TOKEN") is not None
    port = _option(streamlit_args, "--server.port") or "8501"
    address = _option(streamlit_args, "--server.address")
    everywhere = address in (None, "", "0.0.0.0", "::")  # Streamlit listens on every interface unless told
    base = f"http://{'localhost' if address in (None, '', '0.0.0.0', '::') else address}:{port}"
    link = f"{base}/?host=<COLLAB_HOST_TOKEN>" if chosen else rules.host_key().link(base)
    visitors = (f"http://<this machine's address>:{port} (Streamlit prints it as its Network URL)" if everywhere
                else base)
    print(f"\n  Host link (every power on this server; keep it to yourself): {link}\n"
          f"  Visitors open: {visitors}"
          + ("\n  Demo mode: visitors only explore." if settings.get("COLLAB_DEMO") else "") + "\n", flush=True)


def _option(args: list[str], name: str) -> str | None:
    """The value of `name` in Streamlit's arguments (`--name value` or `--name=value`)."""
    for i, arg in enumerate(args):
        if arg == name and i + 1 < len(args):
            return args[i + 1]
        if arg.startswith(name + "="):
            return arg.split("=", 1)[1]
    return None


def main(argv: list[str] | None = None) -> int:
    # `kill -USR1 <pid>` prints every thread's stack to the server log: how to see what a stuck server does
    faulthandler.register(signal.SIGUSR1, all_threads=True)
    from collab_core import settings

    try:
        settings.check_all()  # an operator's typo in a COLLAB_* variable: one line, before anything starts
    except settings.SettingError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    preload()
    from collab_server import workers

    announce_host_link(argv if argv is not None else sys.argv[1:])
    workers.start()
    freeze_imported_objects()
    # `python -m streamlit run app.py ...`, Streamlit's documented command, run in this process so that it finds the
    # libraries imported and the workers started. Streamlit documents no Python API that starts a server (checked
    # in 1.67.0: `streamlit.web.cli` and `streamlit.web.bootstrap` are internal), so the command's own module entry
    # point, streamlit/__main__.py, is what runs; it raises SystemExit when the server stops, as the command exits.
    sys.argv = ["streamlit", "run", str(ROOT / "app.py"), *(sys.argv[1:] if argv is None else argv)]
    runpy.run_module("streamlit", run_name="__main__")
    return 0


if __name__ == "__main__":
    sys.exit(main())
