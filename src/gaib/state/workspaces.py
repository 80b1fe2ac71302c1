"""Workspaces: named, isolated states of one server (``default``, ``staging`` ...).

The current workspace is recorded in ``<state dir>/.current-workspace`` (the original Gaib's file, a
plain file holding the name), so both tools agree on it; ``-w`` and ``GAIB_WORKSPACE`` override it for
one run. Gaib's earlier ``<state dir>/workspace`` is still read, and removed when a workspace is selected.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from gaib.errors import AlreadyExists, InvalidInput, NotFound, WorkspaceNotFound
from gaib.fsutil import write_atomic
from gaib.names import check_name

if TYPE_CHECKING:
    from gaib.state.backend import StateBackend

DEFAULT = "default"
CURRENT_FILE = ".current-workspace"
LEGACY_FILE = "workspace"

_SOURCES = {"flag": "-w/--workspace", "GAIB_WORKSPACE": "GAIB_WORKSPACE"}


@dataclass(frozen=True)
class WorkspaceInfo:
    name: str
    current: bool
    serial: int | None
    resources: int
    lineage: str | None


class Workspaces:
    def __init__(self, backend: StateBackend, state_dir: Path, current: str) -> None:
        self.backend = backend
        self.state_dir = state_dir
        self.current = current

    def names(self) -> list[str]:
        names = set(self.backend.list_workspaces())
        names.add(DEFAULT)
        return sorted(names)

    def exists(self, name: str) -> bool:
        """True for ``default`` (it always exists, as Terraform's) and for a workspace the backend holds:
        one made by ``workspace new`` (a folder locally, a ``workspace.json`` marker on S3) or one with a
        state."""
        check_name(name, "workspace name")
        return name == DEFAULT or self.backend.workspace_exists(name)

    def require(self, name: str, source: str) -> None:
        """Refuse a workspace that does not exist (``WorkspaceNotFound``, exit 6), naming where the choice
        came from (``source``: ``Settings.workspace_source``) and the closest existing name.

        Nothing is created: a workspace is only ever made by ``workspace new`` (or ``use -c``)."""
        if self.exists(name):
            return
        import difflib  # only to name the closest workspace of one that does not exist

        names = self.names()
        close = difflib.get_close_matches(name, names, n=1, cutoff=0.6)
        where = _SOURCES.get(source, source)
        guess = f"; did you mean '{close[0]}'?" if close else "."
        # A name read from a file (.current-workspace, gaib.yaml) stays chosen until switched away from.
        switch = "" if source in _SOURCES else \
            f", or switch to another with 'gaib server workspace use {close[0] if close else DEFAULT}'"
        raise WorkspaceNotFound(
            f"Workspace '{name}' (from {where}) does not exist{guess}",
            hint=f"Create it with 'gaib server workspace new {name}'{switch}; "
                 "'gaib server workspace ls' lists the workspaces.",
            details={"workspace": name, "source": where, "closest": close[0] if close else None,
                     "workspaces": names[:100]})

    def info(self, name: str) -> WorkspaceInfo:
        check_name(name, "workspace name")
        if name != DEFAULT and not self.backend.workspace_exists(name):
            raise NotFound(f"Workspace '{name}' does not exist.",
                           hint=f"Create it with 'gaib server workspace new {name}'.")
        state = self.backend.get(name)
        return WorkspaceInfo(name=name, current=name == self.current,
                             serial=state.serial if state else None,
                             resources=len(state.resources) if state else 0,
                             lineage=state.lineage if state else None)

    def list(self) -> list[WorkspaceInfo]:
        return [self.info(n) for n in self.names()]

    def new(self, name: str, *, switch: bool = False) -> None:
        check_name(name, "workspace name")
        if name == DEFAULT or self.backend.workspace_exists(name):
            raise AlreadyExists(f"Workspace '{name}' already exists.",
                                hint=f"Switch to it with 'gaib server workspace use {name}'.")
        self.backend.create_workspace(name)
        if switch:
            self.select(name)

    def select(self, name: str, *, create: bool = False) -> bool:
        """Make ``name`` current; returns True if it had to be created (only with ``create``)."""
        check_name(name, "workspace name")
        created = False
        if name != DEFAULT and not self.backend.workspace_exists(name):
            if not create:
                raise NotFound(f"Workspace '{name}' does not exist.",
                               hint=f"Create it with 'gaib server workspace use -c {name}'.")
            self.backend.create_workspace(name)
            created = True
        self.state_dir.mkdir(parents=True, exist_ok=True)
        write_atomic(self.state_dir / CURRENT_FILE, name.encode())  # no newline: the original reads it as is
        (self.state_dir / LEGACY_FILE).unlink(missing_ok=True)
        self.current = name
        return created

    def remove(self, name: str, *, force: bool = False) -> None:
        check_name(name, "workspace name")
        if name == DEFAULT:
            raise InvalidInput("The 'default' workspace cannot be removed.", code="WORKSPACE_PROTECTED",
                               hint="Remove its resources with 'gaib server destroy' instead.")
        if name == self.current:
            raise InvalidInput(f"Workspace '{name}' is the current workspace and cannot be removed.",
                               code="WORKSPACE_PROTECTED",
                               hint="Switch to another one first: 'gaib server workspace use default'.")
        if not self.backend.workspace_exists(name):
            raise NotFound(f"Workspace '{name}' does not exist.")
        state = self.backend.get(name)
        if state is not None and state.resources and not force:
            raise InvalidInput(
                f"Workspace '{name}' still manages {len(state.resources)} resources.",
                code="WORKSPACE_NOT_EMPTY",
                hint="Destroy them first, or pass --force to forget them (Discord is not touched).")
        held = self.backend.lock_info(name)
        if held is not None:
            raise held.held_error()
        self.backend.delete(name)
