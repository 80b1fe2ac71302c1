"""IaC use cases: init, plan, apply, destroy, teardown, export, import, state pull.

Each function takes the run's :class:`gaib.ports.Ports` (settings, clock, state backend, Discord)
and returns plain values; the CLI renders them. Destructive work is plan, then execute, under the
workspace's state lock. Nothing here builds an adapter. The steps they share live beside them: the
config's loading here, Discord's limits around a run in :mod:`gaib.iac.limit_tracking`, ``destroy -t``
and ``--no-permissions`` in :mod:`gaib.iac.plan_scope`, executing a plan in :mod:`gaib.iac.apply`.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from gaib.config.desired import DesiredServer, to_desired
from gaib.discord.models import ChannelType, Guild
from gaib.errors import (
    AlreadyExists,
    DiscordError,
    DiscordNotFound,
    InvalidInput,
    NotFound,
    PartialFailure,
    StateNotFound,
)
from gaib.fsutil import output_file as fs_output_file
from gaib.fsutil import write_atomic, write_output
from gaib.iac import addresses, limitcache
from gaib.iac.apply import Applier
from gaib.iac.apply_result import ApplyResult
from gaib.iac.attributes import channel_attributes, role_attributes
from gaib.iac.diff import build_plan, manageable_roles
from gaib.iac.journal import CreateJournal, Recovery, RunJournal, journal_for, mark_adopted, recover
from gaib.iac.limit_tracking import save_limits, usage_for_priming, with_limits
from gaib.iac.plan import Plan
from gaib.iac.plan_scope import KIND_WORDS, targeted, without_permissions
from gaib.iac.progress import Reporter
from gaib.interrupt import Workers
from gaib.ports import Ports
from gaib.secretguard import SecretFinder, check_bytes, check_live, check_value, secrets_in
from gaib.settings import Settings
from gaib.state.backend import StateBackend
from gaib.state.edit import check_address, normalize_address
from gaib.state.locking import locked
from gaib.state.model import Instance, Resource, State
from gaib.themes.effective import LoadedConfig

Progress = Callable[[str], None]


@dataclass(frozen=True)
class Project:
    """A loaded config: the diff's input, the outputs to record in the state, warnings, and the loaded
    config itself (effective config and theme, for the deployment registry)."""

    desired: DesiredServer
    outputs: dict[str, Any]
    warnings: list[str]
    loaded: LoadedConfig | None = None


def load_desired(settings: Settings) -> tuple[DesiredServer, list[str]]:
    """The effective config (theme merged in) as the diff's input, with its warnings."""
    project = load_project(settings)
    return project.desired, project.warnings


def load_project(settings: Settings, raw: bytes | None = None) -> Project:
    """Load the config: from ``settings.config_file`` (which may be gaib.yaml itself), or from ``raw``,
    its bytes already read. Outputs come from the config, else from gaib.yaml's ``outputs``."""
    from gaib.config.source import read_file
    from gaib.themes.effective import parse_config

    is_project = settings.project_file is not None and settings.config_file == settings.project_file
    name = str(settings.config_file)
    if raw is None:
        name, raw = read_file(settings.config_file, display=str(settings.config_file))
    loaded = parse_config(raw, filename=name, environ=settings.environ, project_dir=settings.project_dir,
                          home=settings.home, project_file=is_project)
    # The file itself was checked with file:line; this catches a token brought in by its theme.
    check_value(SecretFinder(secrets_in(settings.environ, settings.bot_token)),
                loaded.config.model_dump(mode="json"), f"{settings.config_file.name} (with its theme)")
    outputs = {k: v.model_dump() for k, v in loaded.config.outputs.items()} or dict(settings.project_outputs)
    return Project(to_desired(loaded.config), state_outputs(outputs), [str(w) for w in loaded.warnings], loaded)


def state_outputs(outputs: dict[str, Any]) -> dict[str, Any]:
    """Config ``outputs`` as the state records them (Terraform's shape: value, type, sensitive)."""
    def kind(value: Any) -> str:
        if isinstance(value, bool):
            return "bool"
        if isinstance(value, int | float):
            return "number"
        return "string" if isinstance(value, str) or value is None else "dynamic"

    return {name: {"value": o.get("value"), "type": kind(o.get("value")), "sensitive": bool(o.get("sensitive"))}
            for name, o in outputs.items()}


def output_changes(current: dict[str, Any], wanted: dict[str, Any]) -> list[dict[str, str]]:
    """What recording ``wanted`` over ``current`` changes: ``[{name, action}]`` (add, change, remove)."""
    out = [{"name": n, "action": "add"} for n in wanted if n not in current]
    out += [{"name": n, "action": "change"} for n in wanted if n in current and current[n] != wanted[n]]
    out += [{"name": n, "action": "remove"} for n in current if n not in wanted]
    return out


def init_project(settings: Settings, *, theme_name: str | None, server_name: str | None, force: bool) -> Path:
    """Write a starting ``discord-server.yaml`` (through the YAML library, so any name round-trips) and
    create the state folder. Never overwrites an existing config unless ``force``, and never gaib.yaml."""
    import yaml

    path = settings.config_file
    if settings.project_file is not None and path == settings.project_file:
        path = (settings.cwd or settings.project_dir) / "discord-server.yaml"  # never over gaib.yaml
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
    outputs: dict[str, Any] = field(default_factory=dict)
    output_changes: list[dict[str, str]] = field(default_factory=list)
    journal: CreateJournal | None = None
    recovery: Recovery | None = None


def make_plan(ports: Ports, *, destroy: bool = False, targets: Sequence[str] = (), permissions: bool = True,
              load: Callable[[], Project] | None = None, writing: bool = False) -> Planned:
    """The plan that makes Discord match the config (or, with ``destroy``, removes what state manages;
    ``targets`` narrows a destroy to addresses or to kinds: role, category, channel). Without
    ``permissions`` the plan leaves out permission overwrite changes (for display only). ``load``
    replaces reading the config file, for a caller that must deploy exactly what it loads (it is called
    while the guild is read, as the file would be). Objects an interrupted run created are adopted
    (:func:`gaib.iac.journal.recover`);
    ``writing``: the plan is for an apply, whose creates are journaled."""
    settings = ports.settings
    state = ports.state.get(settings.workspace)
    cached = limitcache.load(settings.state_dir, settings.guild_id) if settings.guild_id else None

    def read() -> Guild:
        discord = ports.discord
        if cached is not None:  # what earlier runs learned, before the first request
            discord.prime_limits(usage_for_priming(cached, ports.clock()))
        return discord.get_guild()

    outputs: dict[str, Any] = {}
    # Reading the guild (two requests to Discord, sent together) overlaps loading the config;
    # a config error still comes first.
    with Workers(max_workers=1, thread_name_prefix="gaib-read") as pool:
        reading = pool.submit(read)
        try:
            if destroy:
                desired, warnings = DesiredServer(name=None), list[str]()
            else:
                project = load() if load is not None else load_project(settings)
                desired, outputs, warnings = project.desired, project.outputs, list(project.warnings)
        except BaseException:
            reading.cancel()
            raise
        live = reading.result()
    journal = journal_for(ports, live.id, "destroy" if destroy else "apply", reading=not writing)
    recovery = recover(journal, ports.discord, state, live)
    state = recovery.state
    plan = mark_adopted(build_plan(desired, state, live), recovery.adopted)
    if destroy:
        changes = plan.changes
        if targets:
            changes = targeted(changes, targets, state)
        plan = Plan(guild_id=plan.guild_id, changes=changes)  # no reordering when tearing down
        if targets:
            outputs = dict(state.outputs) if state is not None else {}
    if not permissions:
        plan = without_permissions(plan)
    plan = with_limits(ports, plan)
    changed = output_changes(state.outputs if state is not None else {}, outputs)
    return Planned(plan=plan, live=live, state=state, warnings=warnings + list(plan.warnings), outputs=outputs,
                   output_changes=changed, journal=journal, recovery=recovery)


def apply(ports: Ports, *, progress: Reporter, confirm: Callable[[Plan], None], destroy: bool = False,
          dry_run: bool = False, targets: Sequence[str] = (), load: Callable[[], Project] | None = None,
          after: Callable[[Plan, ApplyResult, PartialFailure | None, str | None], None] | None = None,
          ) -> tuple[Plan, ApplyResult | None]:
    """Plan under the lock, ask ``confirm`` (which raises to cancel), then execute once; the config's
    outputs are recorded in the state afterwards (a whole destroy clears them). ``load``: see
    :func:`make_plan` (it runs under the lock, while the guild's two reads are out).

    ``after(plan, result, failure, lineage)`` runs still under the lock once the plan was carried out (or
    found empty): after a partial run too, with its ``PartialFailure``, which then propagates. The state
    stored then has serial ``result.serial`` and lineage ``lineage`` (both None: none is stored), so
    ``after`` need not read it again. Never for a dry
    run or a cancelled confirmation. What Discord's headers showed about its limits is merged into the
    cache beside the state afterwards, whatever the outcome (:mod:`gaib.iac.limitcache`)."""
    settings, backend, clock = ports.settings, ports.state, ports.clock
    with locked(backend, settings.workspace, "destroy" if destroy else "apply", clock):
        planned = make_plan(ports, destroy=destroy, targets=targets, load=load, writing=not dry_run)
        if dry_run:
            return planned.plan, None
        if planned.plan.empty and planned.state is not None:
            RunJournal(planned.journal, planned.recovery).settle(planned.state)
            result = ApplyResult(serial=planned.state.serial)
            if planned.output_changes:  # outputs change no Discord object: nothing to confirm
                result.serial = _record_outputs(backend, settings.workspace, planned.outputs, clock)
            if after is not None:
                after(planned.plan, result, None, planned.state.lineage)
            return planned.plan, result
        confirm(planned.plan)
        guild = planned.plan.guild_id
        cached = limitcache.load(settings.state_dir, guild)  # make_plan primed the client with it
        applier = Applier(ports.discord, backend, planned.state, workspace=settings.workspace, clock=clock,
                          progress=progress, concurrency=settings.discord_concurrency, journal=planned.journal,
                          recovery=planned.recovery)
        failure: PartialFailure | None = None
        try:
            try:
                result = applier.run(planned.plan, planned.live)
            except PartialFailure as exc:
                failure, result = exc, applier.result
            # An apply changes resources, never outputs: unless the plan changes some, the state (large
            # for a large server) is not read again to compare them.
            serial = (_record_outputs(backend, settings.workspace, planned.outputs, clock)
                      if planned.output_changes else None)
            if serial is not None:
                result.serial = serial
            if after is not None:
                after(planned.plan, result, failure, applier.state.lineage if result.serial is not None else None)
        finally:
            save_limits(ports, guild, cached, progress)
        if failure is not None:
            raise failure
        return planned.plan, result


def _record_outputs(backend: StateBackend, workspace: str, outputs: dict[str, Any],
                    clock: Callable[[], datetime]) -> int | None:
    """Write ``outputs`` into the workspace's state if they differ (serial + 1); the new serial, or None."""
    state = backend.get(workspace)
    if state is None or state.outputs == outputs:
        return None
    new = copy.deepcopy(state)
    new.outputs = dict(outputs)
    return _commit(backend, state, new, state.guild_id or "", clock).serial


def export(ports: Ports, *, managed_only: bool = False, stored: bool = False) -> str:
    """The live guild as a config (YAML text) that re-applies with zero changes. ``managed_only``
    keeps only the objects the state manages. ``stored``: the text will be written (a file, a stored
    export), so a token in an exported live field is refused (SecretRefused, exit 2) naming its object."""
    from gaib.iac.export import export_config

    managed: set[str] | None = None
    if managed_only:
        state = ports.state.get(ports.settings.workspace)
        managed = {r.id for r in (state.resources if state else []) if r.id}
    live = ports.discord.get_guild()
    if stored:
        refuse_live_secrets(ports.settings, live, managed)
    return export_config(live, managed_ids=managed)


def refuse_live_secrets(settings: Settings, live: Guild, ids: set[str] | None = None) -> None:
    """SecretRefused naming the live object and field holding the bot token (or a webhook token), among
    the objects ``ids`` names (None: every object of the guild, its own name included)."""
    check_live(settings.environ, settings.bot_token,
               (t for t in live.texts() if ids is None or t.object_id in ids))


def config_document(text: str) -> dict[str, Any]:
    """An exported config as the mapping it describes (what ``export --json`` prints)."""
    import yaml

    doc = yaml.safe_load(text)
    return doc if isinstance(doc, dict) else {}


def output_file(settings: Settings, output: str, *, force: bool) -> Path:
    """The file ``export -o output`` names, any path a user types (:func:`gaib.fsutil.output_file`);
    checked before Discord is read (an existing file needs ``force``: AlreadyExists, exit 6)."""
    return fs_output_file(output, cwd=settings.cwd or settings.project_dir, home=settings.home, force=force,
                          hint="Give a file path, e.g. -o server.yaml or -o ~/exports/server.yaml.")


def write_file(settings: Settings, target: Path, text: str, *, force: bool) -> Path:
    """Write ``text`` to ``target`` (from :func:`output_file`) atomically, refusing a secret; returns the path."""
    data = text.encode("utf-8")
    check_bytes(SecretFinder(secrets_in(settings.environ, settings.bot_token)), data, str(target))
    write_output(target, data, force=force)
    return target


def import_resource(ports: Ports, address: str, object_id: str) -> State:
    """Attach an existing Discord object to ``address`` in the state (serial + 1)."""
    rtype, rname = check_address(address)
    address = normalize_address(address)
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
        refuse_live_secrets(settings, live, {object_id})
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
        refuse_live_secrets(settings, live, {r.id for r in kept if r.id})
        return _commit(backend, state, new, live.id, clock), gone


def _commit(backend: StateBackend, old: State | None, new: State, guild_id: str,
            clock: Callable[[], datetime]) -> State:
    new.guild_id = guild_id
    new.serial = (old.serial if old else 0) + 1
    new.last_modified = clock().isoformat().replace("+00:00", "Z")
    backend.put(new, expected_serial=old.serial if old else None)
    return new


# --- teardown ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class TeardownPlan:
    """Everything ``teardown`` deletes: every channel, every category but the preserved ones, and every
    role except @everyone and roles managed by an integration (bots, boosts)."""

    guild_id: str
    server_name: str
    channels: tuple[tuple[str, str], ...]  # (id, name)
    categories: tuple[tuple[str, str], ...]
    roles: tuple[tuple[str, str], ...]
    preserved: tuple[str, ...] = ()

    @property
    def total(self) -> int:
        return len(self.channels) + len(self.categories) + len(self.roles)

    def to_dict(self) -> dict[str, Any]:
        def rows(items: tuple[tuple[str, str], ...]) -> list[dict[str, str]]:
            return [{"id": i, "name": n} for i, n in items]

        return {"guild_id": self.guild_id, "server_name": self.server_name, "channels": rows(self.channels),
                "categories": rows(self.categories), "roles": rows(self.roles),
                "preserved_categories": list(self.preserved),
                "summary": {"channels": len(self.channels), "categories": len(self.categories),
                            "roles": len(self.roles), "total": self.total}}


@dataclass
class TeardownResult:
    deleted: list[str] = field(default_factory=list)
    failed: list[dict[str, str]] = field(default_factory=list)
    forgotten: list[str] = field(default_factory=list)
    serial: int | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"deleted": self.deleted, "failed": self.failed, "forgotten": self.forgotten, "serial": self.serial}


def plan_teardown(ports: Ports, *, preserve_categories: Sequence[str] = ()) -> TeardownPlan:
    """What ``teardown`` would delete in the live guild (reads only)."""
    live = ports.discord.get_guild()
    keep = {name.casefold() for name in preserve_categories}
    chans = [c for c in live.channels if c.type != ChannelType.CATEGORY]
    cats = [c for c in live.channels if c.type == ChannelType.CATEGORY]
    return TeardownPlan(
        guild_id=live.id, server_name=live.name,
        channels=tuple((c.id, c.name) for c in chans),
        categories=tuple((c.id, c.name) for c in cats if c.name.casefold() not in keep),
        roles=tuple((r.id, r.name) for r in manageable_roles(live)),
        preserved=tuple(c.name for c in cats if c.name.casefold() in keep))


def teardown(ports: Ports, plan: TeardownPlan, *, progress: Progress) -> TeardownResult:
    """Delete everything ``plan`` lists (channels, then categories, then roles) under the state lock,
    then forget the deleted objects in the state (serial + 1). A failed delete is recorded and the rest
    goes on; any failure ends in PartialFailure (exit 8)."""
    settings, backend, clock = ports.settings, ports.state, ports.clock
    result = TeardownResult()
    with locked(backend, settings.workspace, "teardown", clock):
        gone: set[str] = set()
        for kind, items in (("channel", plan.channels), ("category", plan.categories), ("role", plan.roles)):
            for object_id, name in items:
                try:
                    if kind == "role":
                        ports.discord.delete_role(object_id, reason="gaib teardown")
                    else:
                        ports.discord.delete_channel(object_id, reason="gaib teardown")
                except DiscordError as exc:
                    if not isinstance(exc, DiscordNotFound):
                        result.failed.append({"kind": kind, "id": object_id, "name": name, "message": exc.message})
                        progress(f"  ! {kind} {name} ({object_id}): {exc.message}")
                        continue
                gone.add(object_id)
                result.deleted.append(f"{kind}:{name}")
                progress(f"  - {kind} {name} ({object_id})")
        state = backend.get(settings.workspace)
        if state is not None and any(r.id in gone for r in state.resources):
            new = copy.deepcopy(state)
            result.forgotten = [r.address for r in new.resources if r.id in gone]
            new.resources = [r for r in new.resources if r.id not in gone]
            result.serial = _commit(backend, state, new, plan.guild_id, clock).serial
        elif state is not None:
            result.serial = state.serial
    if result.failed:
        raise PartialFailure(f"{len(result.failed)} of {plan.total} deletes failed; the rest were done.",
                             details={"result": result.to_dict()})
    return result


def check_targets(targets: Sequence[str]) -> None:
    """InvalidInput unless each ``destroy -t`` target is an address or a kind word."""
    for target in targets:
        if target.strip().lower() not in KIND_WORDS:
            check_address(target)
    if not all(t.strip() for t in targets):
        raise InvalidInput("An empty --target was given.", code="INVALID_ADDRESS")
