"""IaC use cases wired to settings: plan, apply, destroy, export, import, state pull.

Each function takes the resolved Settings (and a clock/progress callback) and returns plain values;
the CLI renders them. Destructive work is plan, then execute, under the workspace's state lock.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from gaib.config.desired import DesiredServer, to_desired
from gaib.discord.models import ChannelType, Guild
from gaib.errors import AlreadyExists, InvalidInput, NotFound
from gaib.iac import addresses
from gaib.iac.apply import Applier, ApplyResult
from gaib.iac.attributes import channel_attributes, role_attributes
from gaib.iac.diff import build_plan, manageable_roles
from gaib.iac.plan import Plan
from gaib.settings import Settings
from gaib.state.backend import StateBackend
from gaib.state.edit import check_address
from gaib.state.locking import locked
from gaib.state.model import Instance, Resource, State
from gaib.state.open import open_backend

Progress = Callable[[str], None]


def open_client(settings: Settings) -> Any:
    from gaib.discord.client import DiscordClient

    return DiscordClient(settings.discord_api_url, token=settings.require_token(),
                         guild_id=settings.require_guild(),
                         record_path=settings.environ.get("GAIB_DISCORD_RECORD") or None)


def load_desired(settings: Settings) -> tuple[DesiredServer, list[str]]:
    from gaib.config.load import load_config

    home = settings.environ.get("HOME")
    loaded = load_config(settings.config_file, environ=settings.environ, project_dir=settings.project_dir,
                         home=Path(home) if home else None)
    return to_desired(loaded.config), [str(w) for w in loaded.warnings]


@dataclass
class Planned:
    plan: Plan
    live: Guild
    state: State | None
    warnings: list[str]


def make_plan(settings: Settings, client: Any, backend: StateBackend, *, destroy: bool = False) -> Planned:
    state = backend.get(settings.workspace)
    if destroy:
        desired, warnings = DesiredServer(name=None), list[str]()
    else:
        desired, warnings = load_desired(settings)
    live = client.get_guild()
    plan = build_plan(desired, state, live)
    if destroy:
        plan = Plan(guild_id=plan.guild_id, changes=plan.changes)  # no reordering when tearing down
    return Planned(plan=plan, live=live, state=state, warnings=warnings + list(plan.warnings))


def apply(settings: Settings, client: Any, *, clock: Callable[[], datetime], progress: Progress,
          confirm: Callable[[Plan], None], destroy: bool = False,
          dry_run: bool = False) -> tuple[Plan, ApplyResult | None]:
    """Plan under the lock, ask ``confirm`` (which raises to cancel), then execute once."""
    backend = open_backend(settings)
    with locked(backend, settings.workspace, "destroy" if destroy else "apply", clock):
        planned = make_plan(settings, client, backend, destroy=destroy)
        if dry_run:
            return planned.plan, None
        if planned.plan.empty and planned.state is not None:
            return planned.plan, ApplyResult(serial=planned.state.serial)
        confirm(planned.plan)
        applier = Applier(client, backend, planned.state, workspace=settings.workspace, clock=clock,
                          progress=progress)
        return planned.plan, applier.run(planned.plan, planned.live)


def export(client: Any) -> str:
    """The live guild as a config that re-applies with zero changes."""
    from gaib.iac.export import export_config

    return export_config(client.get_guild())


def import_resource(settings: Settings, client: Any, address: str, object_id: str, *,
                    clock: Callable[[], datetime]) -> State:
    """Attach an existing Discord object to ``address`` in the state (serial + 1)."""
    rtype, _ = check_address(address)
    backend = open_backend(settings)
    with locked(backend, settings.workspace, "import", clock):
        state = backend.get(settings.workspace)
        live = client.get_guild()
        new = copy.deepcopy(state) if state is not None else State.new(settings.workspace, live.id)
        if new.find(address) is not None:
            raise AlreadyExists(f"{address} is already in the state.",
                                hint="Remove it first with 'gaib server state rm'.")
        holder = next((r.address for r in new.resources if r.id == object_id), None)
        if holder:
            raise AlreadyExists(f"Discord object {object_id} is already managed as {holder}.")
        attrs: dict[str, Any] | None = None
        if rtype == addresses.ROLE:
            role = next((r for r in manageable_roles(live) if r.id == object_id), None)
            attrs = role_attributes(role) if role else None
        else:
            want_category = rtype == addresses.CATEGORY
            ch = next((c for c in live.channels if c.id == object_id
                       and (c.type == ChannelType.CATEGORY) == want_category), None)
            attrs = channel_attributes(ch) if ch else None
        if attrs is None:
            raise NotFound(f"No {rtype.removeprefix('discord_')} with id {object_id} in the Discord server.",
                           code="DISCORD_OBJECT_NOT_FOUND", hint="Check the id (Developer Mode, Copy ID).")
        rname = address.split(".", 1)[1]
        new.resources.append(Resource(type=rtype, name=rname, instances=[Instance(attributes=attrs)]))
        return _commit(backend, state, new, live.id, clock)


def pull(settings: Settings, client: Any, *, clock: Callable[[], datetime]) -> tuple[State, list[str]]:
    """Refresh every state resource from Discord; forget the ones that no longer exist."""
    backend = open_backend(settings)
    with locked(backend, settings.workspace, "state pull", clock):
        state = backend.get(settings.workspace)
        live = client.get_guild()
        if state is None:
            raise InvalidInput(f"Workspace '{settings.workspace}' has no state to refresh.",
                               code="STATE_NOT_FOUND", hint="Run 'gaib server apply' or 'gaib server import' first.")
        roles = {r.id: r for r in live.roles}
        chans = {c.id: c for c in live.channels}
        new = copy.deepcopy(state)
        gone = []
        kept = []
        for res in new.resources:
            rid = res.id or ""
            if res.type == addresses.ROLE and rid in roles:
                res.instances = [Instance(attributes=role_attributes(roles[rid]))]
            elif res.type != addresses.ROLE and rid in chans:
                res.instances = [Instance(attributes=channel_attributes(chans[rid]))]
            else:
                gone.append(res.address)
                continue
            kept.append(res)
        new.resources = kept
        if new.content_equal(state) and state.guild_id == live.id:
            return state, gone
        return _commit(backend, state, new, live.id, clock), gone


def _commit(backend: StateBackend, old: State | None, new: State, guild_id: str,
            clock: Callable[[], datetime]) -> State:
    new.guild_id = guild_id
    new.serial = (old.serial if old else 0) + 1
    new.last_modified = clock().isoformat().replace("+00:00", "Z")
    backend.put(new, expected_serial=old.serial if old else None)
    return new
