"""State use cases for the CLI: read, show, edit, locks and workspaces — on the run's ports."""

from __future__ import annotations

from typing import TYPE_CHECKING

from gaib.errors import InvalidInput, NotFound, StateNotFound
from gaib.ports import Ports
from gaib.state.workspaces import DEFAULT, Workspaces

if TYPE_CHECKING:  # a workspace check (every command) loads neither the state model nor its editing
    from gaib.state.backend import LockInfo
    from gaib.state.model import Resource, State


def current(ports: Ports) -> State | None:
    """The current workspace's state, or None if it has none yet."""
    return ports.state.get(ports.settings.workspace)


def show(ports: Ports, address: str) -> Resource:
    """One resource of the current state; InvalidInput for a bad address, NotFound if absent."""
    from gaib.state import edit

    edit.check_address(address)
    state = current(ports)
    if state is None:
        raise StateNotFound(f"Workspace '{ports.settings.workspace}' has no state yet.")
    res = edit.resolve(state, address)
    if res is None:
        raise NotFound(f"No resource {edit.normalize_address(address)} in the state.", code="ADDRESS_NOT_FOUND")
    return res


def remove(ports: Ports, addresses: list[str]) -> State:
    """Forget resources (serial + 1, under the lock); Discord is not touched."""
    from gaib.state import edit

    return edit.remove(ports.state, ports.settings.workspace, addresses, ports.clock)


def move(ports: Ports, source: str, destination: str) -> State:
    """Rename a resource's address (serial + 1, under the lock), keeping its Discord id."""
    from gaib.state import edit

    return edit.move(ports.state, ports.settings.workspace, source, destination, ports.clock)


def lock_info(ports: Ports) -> LockInfo | None:
    """Who holds the current workspace's lock, or None."""
    return ports.state.lock_info(ports.settings.workspace)


def lock_to_release(ports: Ports, lock_id: str | None = None) -> LockInfo | None:
    """The lock ``unlock [LOCK_ID]`` would release: None when the workspace is not locked. With ``lock_id``
    (Terraform's ``force-unlock LOCK_ID``), a lock with another id is refused: InvalidInput
    (``LOCK_ID_MISMATCH``, exit 6) naming its holder, and nothing is released."""
    held = lock_info(ports)
    if held is not None and lock_id is not None and held.id != lock_id:
        raise _mismatch(ports.settings.workspace, held, lock_id)
    return held


def force_unlock(ports: Ports, lock_id: str | None = None) -> LockInfo | None:
    """Release the current workspace's lock; returns what was released (None: there was none).

    Without ``lock_id``, whoever holds it. With it, only that lock, by the backends' conditional release:
    a lock another run took since it was read stays (LOCK_ID_MISMATCH, exit 6)."""
    ws = ports.settings.workspace
    if lock_id is None:
        return ports.state.force_unlock(ws)
    held = lock_to_release(ports, lock_id)
    if held is None:
        return None
    ports.state.unlock(ws, lock_id)
    return held


def _mismatch(workspace: str, held: LockInfo, lock_id: str) -> InvalidInput:
    return InvalidInput(
        f"Lock id {lock_id[:80]!r} is not the lock of workspace '{workspace}': it is locked by {held.who} since "
        f"{held.created} (operation '{held.operation}', lock id {held.id or 'unreadable'}). Nothing was released.",
        code="LOCK_ID_MISMATCH",
        hint=(f"Check who holds it with 'gaib server locks'; if that run is gone, release it with "
              f"'gaib server force-unlock {held.id}'." if held.id else
              "The lock record cannot be read: release it without an id, 'gaib server force-unlock'."),
        details={"lock": held.to_dict(), "given": lock_id[:200]})


def require_workspace(ports: Ports) -> None:
    """Refuse a run on a workspace that does not exist (WorkspaceNotFound, exit 6): ``default`` always
    exists, any other once ``workspace new`` made it or it holds a state. Nothing is created.

    For ``default`` the state backend is not even built: a command that uses other ports (a backup
    listing) opens no state folder or bucket for it."""
    s = ports.settings
    if s.workspace == DEFAULT:
        return
    workspaces(ports).require(s.workspace, s.workspace_source)


def workspaces(ports: Ports) -> Workspaces:
    """The workspaces of the configured backend, with the current one."""
    s = ports.settings
    return Workspaces(ports.state, s.state_dir, s.workspace)
