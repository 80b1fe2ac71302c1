"""IaC use cases: init, plan, apply, destroy, export, import, state pull.

Each function takes the run's :class:`gaib.ports.Ports` (settings, clock, state backend, Discord)
and returns plain values; the CLI renders them. Destructive work is plan, then execute, under the
workspace's state lock. Nothing here builds an adapter.
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
from gaib.errors import AlreadyExists, NotFound, StateNotFound
from gaib.fsutil import write_atomic
from gaib.iac import addresses
from gaib.iac.apply import Applier, ApplyResult
from gaib.iac.attributes import channel_attributes, role_attributes
from gaib.iac.diff import build_plan, manageable_roles
from gaib.iac.plan import Plan
from gaib.ports import Ports
from gaib.secretguard import SecretFinder, check_bytes, check_value, secrets_in
from gaib.settings import Settings
from gaib.state.backend import StateBackend
from gaib.state.edit import check_address
from gaib.state.locking import locked
from gaib.state.model import Instance, Resource, State

Progress = Callable[[str], None]


def load_desired(settings: Settings) -> tuple[DesiredServer, list[str]]:
    """The effective config (theme merged in) as the diff's input, with its warnings."""
    from gaib.themes.effective import load_config

    loaded = load_config(settings.config_file, environ=settings.environ, project_dir=settings.project_dir,
                         home=settings.home)
    # The file itself was checked with file:line; this catches a token brought in by its theme.
    check_value(SecretFinder(secrets_in(settings.environ, settings.bot_token)),
                loaded.config.model_dump(mode="json"), f"{settings.config_file.name} (with its theme)")
    return to_desired(loaded.config), [str(w) for w in loaded.warnings]


def init_project(settings: Settings, *, theme_name: str | None, server_name: str | None, force: bool) -> Path:
    """Write a starting ``discord-server.yaml`` (through the YAML library, so any name round-trips) and
    create the state folder. Never overwrites an existing config unless ``force``."""
    import yaml

    path = settings.config_file
    if path.exists() and not force:
        raise AlreadyExists(f"{path.name} already exists.", hint="Pass --force to overwrite it.")
    doc: dict[str, Any] = {"version": "1.0"}
    if server_name:
        # The config reads ${...} from the environment; a literal one is written as $${...}.
        doc["server"] = {"name": server_name.replace("${", "$${")}
    if theme_name:
        from gaib.themes.loader import ThemeSearch, find_theme

        find_theme(theme_name, ThemeSearch(project_dir=settings.project_dir, home=settings.home))
        doc["theme"] = {"name": theme_name}
    doc.update({"roles": [], "categories": [], "channels": []})
    check_value(SecretFinder(secrets_in(settings.environ, settings.bot_token)), doc, path.name)
    text = yaml.safe_dump(doc, sort_keys=False, allow_unicode=True, default_flow_style=False, width=1000)
    path.parent.mkdir(parents=True, exist_ok=True)
    write_atomic(path, text.encode("utf-8"), mode=0o644)
    settings.state_dir.mkdir(parents=True, exist_ok=True)
    return path


@dataclass
class Planned:
    plan: Plan
    live: Guild
    state: State | None
    warnings: list[str]


def make_plan(ports: Ports, *, destroy: bool = False) -> Planned:
    """The plan that makes Discord match the config (or, with ``destroy``, removes what state manages)."""
    settings = ports.settings
    state = ports.state.get(settings.workspace)
    if destroy:
        desired, warnings = DesiredServer(name=None), list[str]()
    else:
        desired, warnings = load_desired(settings)
    live = ports.discord.get_guild()
    plan = build_plan(desired, state, live)
    if destroy:
        plan = Plan(guild_id=plan.guild_id, changes=plan.changes)  # no reordering when tearing down
    return Planned(plan=plan, live=live, state=state, warnings=warnings + list(plan.warnings))


def apply(ports: Ports, *, progress: Progress, confirm: Callable[[Plan], None], destroy: bool = False,
          dry_run: bool = False) -> tuple[Plan, ApplyResult | None]:
    """Plan under the lock, ask ``confirm`` (which raises to cancel), then execute once."""
    settings, backend, clock = ports.settings, ports.state, ports.clock
    with locked(backend, settings.workspace, "destroy" if destroy else "apply", clock):
        planned = make_plan(ports, destroy=destroy)
        if dry_run:
            return planned.plan, None
        if planned.plan.empty and planned.state is not None:
            return planned.plan, ApplyResult(serial=planned.state.serial)
        confirm(planned.plan)
        applier = Applier(ports.discord, backend, planned.state, workspace=settings.workspace, clock=clock,
                          progress=progress)
        return planned.plan, applier.run(planned.plan, planned.live)


def export(ports: Ports) -> str:
    """The live guild as a config that re-applies with zero changes."""
    from gaib.iac.export import export_config

    return export_config(ports.discord.get_guild())


def write_file(settings: Settings, output: str, text: str) -> Path:
    """Write ``text`` to ``output`` (relative to the project folder) atomically; returns the path."""
    target = settings.project_dir / output
    data = text.encode("utf-8")
    check_bytes(SecretFinder(secrets_in(settings.environ, settings.bot_token)), data, str(target))
    write_atomic(target, data, mode=0o644)
    return target


def import_resource(ports: Ports, address: str, object_id: str) -> State:
    """Attach an existing Discord object to ``address`` in the state (serial + 1)."""
    rtype, _ = check_address(address)
    settings, backend, clock = ports.settings, ports.state, ports.clock
    with locked(backend, settings.workspace, "import", clock):
        state = backend.get(settings.workspace)
        live = ports.discord.get_guild()
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


def pull(ports: Ports) -> tuple[State, list[str]]:
    """Refresh every state resource from Discord; forget the ones that no longer exist."""
    settings, backend, clock = ports.settings, ports.state, ports.clock
    with locked(backend, settings.workspace, "state pull", clock):
        state = backend.get(settings.workspace)
        if state is None:
            raise StateNotFound(f"Workspace '{settings.workspace}' has no state to refresh.",
                                hint="Run 'gaib server apply' or 'gaib server import' first.")
        live = ports.discord.get_guild()
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
