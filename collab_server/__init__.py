"""collab_server: the dashboard's runtime without Streamlit calls: `serve` (the `make run` entry point), the
training service and background computations (`jobs`), the worker processes behind them (`workers`), dataset
downloads (`fetches`), one-off background tasks such as an import (`tasks`), what each browser started and keeps
(`owners`), and the per-run timing log (`timing`). Nothing here calls `st.*`; collab_app's pages poll these
objects."""
