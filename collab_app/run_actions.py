"""What a page may do to the shared runs: delete, rename, pin the default, choose whether visitors see each other's
runs. Each checks this session's right first (collab_app.access: a visitor's crafted request is refused here, not
only hidden on the page), then does it and notes who did it (collab_server.run_changes) for the other tabs."""
from __future__ import annotations

from collab_core.errors import CollabError
from collab_core.runs.store import RunInfo

from . import access, announce, cached, services
from .messages import said
from .text import md


def delete(infos: list[RunInfo]) -> tuple[list[str], list[str]]:
    """Delete each run this session may delete: (deleted run ids, one Markdown line per failure or refusal)."""
    deleted, failures = [], []
    who = access.caller()
    for info in infos:
        try:
            access.require(access.DELETE, info.owner, info.run_id)
            cached.store().delete(info.run_id)
            services.run_changes().record(access.DELETE, info.run_id, who.run_owner)
            deleted.append(info.run_id)
        except CollabError as exc:
            failures.append(f"{md(info.run_id)}: {said(exc)}")
    return deleted, failures


def rename(info: RunInfo, name: str) -> None:
    """Give `info` a new display name (raises CollabError: refused, or the name is not allowed)."""
    access.require(access.RENAME, info.owner, info.run_id)
    cached.store().rename(info.run_id, name)
    services.run_changes().record(access.RENAME, info.run_id, access.caller().run_owner)
    announce.saw_rename(info.run_id)


def pin(run_id: str | None) -> None:
    """Pin `run_id` as the run new visitors see first (None: unpin)."""
    access.require(access.PIN, what=run_id or "nothing")
    cached.store().pin(run_id)
    services.run_changes().record(access.PIN, run_id, access.caller().run_owner)
    announce.saw_pin(run_id)


def share_visitor_runs(shared: bool) -> None:
    """The host's choice: whether visitors see each other's runs."""
    access.require(access.SHARING)
    cached.store().share_visitor_runs(shared)
