"""State use cases for the CLI: read, show, edit, locks and workspaces — on the run's ports."""

from __future__ import annotations

from gaib.errors import NotFound, StateNotFound
from gaib.ports import Ports
from gaib.state import edit
from gaib.state.backend import LockInfo
from gaib.state.model import Resource, State
from gaib.state.workspaces import Workspaces


def current(ports: Ports) -> State | None:
    """The current workspace's state, or None if it has none yet."""
    return ports.state.get(ports.settings.workspace)


def show(ports: Ports, address: str) -> Resource:
    """One resource of the current state; InvalidInput for a bad address, NotFound if absent."""
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
    return edit.remove(ports.state, ports.settings.workspace, addresses, ports.clock)


def move(ports: Ports, source: str, destination: str) -> State:
    """Rename a resource's address (serial + 1, under the lock), keeping its Discord id."""
    return edit.move(ports.state, ports.settings.workspace, source, destination, ports.clock)


def lock_info(ports: Ports) -> LockInfo | None:
    """Who holds the current workspace's lock, or None."""
    return ports.state.lock_info(ports.settings.workspace)


def force_unlock(ports: Ports) -> LockInfo | None:
    """Release the current workspace's lock whoever holds it; returns what was released."""
    return ports.state.force_unlock(ports.settings.workspace)


def require_workspace(ports: Ports) -> None:
    """Refuse a run on a workspace that does not exist (WorkspaceNotFound, exit 6): ``default`` always
    exists, any other once ``workspace new`` made it or it holds a state. Nothing is created."""
    s = ports.settings
    workspaces(ports).require(s.workspace, s.workspace_source)


def workspaces(ports: Ports) -> Workspaces:
    """The workspaces of the configured backend, with the current one."""
    s = ports.settings
    return Workspaces(ports.state, s.state_dir, s.workspace)
