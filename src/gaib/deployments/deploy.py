"""``gaib server apply`` with its deployment recorded in the theme registry.

:func:`apply_and_record` reads the config file once (the effective config, its theme, and the theme
variables as written, for the secret rule of :mod:`gaib.deployments.registry`), applies exactly that
through :func:`gaib.iac.service.apply`, and records the deployment (:func:`gaib.deployments.registry.record`)
while the state lock is still held, so a rollback waiting for the lock plans against it: after a
success, and after a partial apply before its ``PartialFailure`` propagates. A dry run, a
cancelled confirmation and an apply that changed nothing with the current deployment's config record
nothing; a config refused when it is read (``ConfigError``, ``SecretRefused``...: it is read under the
lock, while the guild is read) writes nothing at all, like any bad input; any other failure writes a
``failure`` audit event and records no deployment.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from gaib.bundles.codec import sha256_hex
from gaib.config.dump import dump_config
from gaib.config.schema import ServerConfig
from gaib.deployments.registry import (
    Recorded,
    audit_failure,
    change_counts,
    current,
    deployments,
    record,
    theme_record,
    who,
)
from gaib.deployments.store import Deployment, NewDeployment, Via
from gaib.errors import ConfirmationRequired, GaibError, PartialFailure
from gaib.iac import service as iac_service
from gaib.iac.apply_result import ApplyResult
from gaib.iac.plan import Plan
from gaib.iac.progress import Reporter
from gaib.ports import Ports
from gaib.redact import replace_secrets, secrets_from
from gaib.settings import Settings
from gaib.themes.apply import AppliedTheme


def config_text(config: ServerConfig, environ: Mapping[str, str]) -> str:
    """The effective config as stored: standalone YAML, with any environment secret replaced."""
    return replace_secrets(dump_config(config), secrets_from(environ))


def config_counts(config: ServerConfig) -> dict[str, int]:
    return {"roles": len(config.roles), "categories": len(config.categories), "channels": len(config.channels)}


# --- apply --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Loaded:
    """The config an apply deploys: what the plan needs (``project``), the effective config, its theme and
    what the file wrote for its variables."""

    project: iac_service.Project
    config: ServerConfig
    theme: AppliedTheme | None
    written_variables: dict[str, Any]


def load(settings: Settings) -> Loaded:
    """Read the config file once: the project as apply loads it and, for the secret rule, the theme
    variables as written (before interpolation). ConfigError / ConfigNotFound as ``load_config``."""
    from gaib.config.source import parse_yaml, read_file

    name, raw = read_file(settings.config_file, display=str(settings.config_file))
    project = iac_service.load_project(settings, raw)
    assert project.loaded is not None
    written: dict[str, Any] = {}
    data = parse_yaml(raw, name).data if project.loaded.source.theme is not None else None
    theme_doc = data.get("theme") if isinstance(data, dict) else None
    if isinstance(theme_doc, dict) and isinstance(theme_doc.get("variables"), dict):
        written = dict(theme_doc["variables"])
    return Loaded(project, project.loaded.config, project.loaded.theme, written)


@dataclass
class Applied:
    plan: Plan
    result: ApplyResult | None
    deployment: Deployment | None = None
    """The deployment recorded (None: a dry run, nothing to record, or recording failed)."""


def apply_and_record(ports: Ports, *, progress: Reporter, confirm: Callable[[Plan], None],
                     dry_run: bool = False, via: Via | None = None) -> Applied:
    """``gaib server apply``, recording the deployment while the state lock is still held (so a rollback
    waiting for the lock sees it): after a success, and after a partial run before its ``PartialFailure``
    propagates (the recorded deployment in its ``details["deployment"]``). A dry run, a cancelled
    confirmation, and an apply that changed nothing while the current deployment already is this config
    (successfully) record nothing; a config refused when read writes nothing; any later failure writes a
    ``failure`` audit event. A failure to record
    is a notice: Discord was changed, and the apply's result stands."""
    settings = ports.settings
    done: dict[str, Recorded | None] = {}
    config: list[Loaded] = []  # set once the config is read
    refused: list[GaibError] = []
    # The stored config text (a YAML dump, a good part of a second for a large server) is made while
    # the apply mostly waits for Discord's rate limits, not after it: it does not depend on the apply.
    texts = ThreadPoolExecutor(max_workers=1, thread_name_prefix="gaib-record")
    text: list[Future[str]] = []

    def load_config() -> iac_service.Project:
        # Read under the lock while the guild's two reads are out (they take a round trip; reading and
        # validating a large config takes as long). A config refused here started no change: it is
        # not audited, and the lock is released as for any error.
        try:
            config.append(load(settings))
        except GaibError as exc:
            refused.append(exc)
            raise
        return config[0].project

    def confirmed(plan: Plan) -> None:
        confirm(plan)
        text.append(texts.submit(config_text, config[0].config, settings.environ))

    def after(plan: Plan, result: ApplyResult, failure: PartialFailure | None, lineage: str | None) -> None:
        done["recorded"] = _record_apply(ports, config[0], plan, result, failure, via, lineage,
                                         pending=text[0] if text else None)

    try:
        plan, result = iac_service.apply(ports, progress=progress, confirm=confirmed, dry_run=dry_run,
                                         load=load_config, after=after)
    except PartialFailure as exc:
        recorded = done.get("recorded")
        exc.details["deployment"] = recorded.deployment.to_dict() if recorded is not None else None
        raise
    except ConfirmationRequired:
        raise
    except GaibError as exc:
        if exc not in refused:
            audit_failure(ports, settings.guild_id, "apply", exc, via=via)
        raise
    finally:
        texts.shutdown(wait=False, cancel_futures=True)
    recorded = done.get("recorded")
    return Applied(plan, result, recorded.deployment if recorded is not None else None)


def _record_apply(ports: Ports, loaded: Loaded, plan: Plan, result: ApplyResult, failure: PartialFailure | None,
                  via: Via | None, lineage: str | None, *, pending: Future[str] | None = None) -> Recorded | None:
    """Record an apply (None when there is nothing to record, or recording failed: a notice). The state
    stored has serial ``result.serial`` and ``lineage`` (:func:`gaib.iac.service.apply`). ``pending``:
    the config text being made since the apply started."""
    settings = ports.settings
    server_id = plan.guild_id
    try:
        store = deployments(ports)
        previous = current(store, server_id)
        text = pending.result() if pending is not None else config_text(loaded.config, settings.environ)
        if (failure is None and plan.empty and previous is not None and previous.result == "success"
                and previous.config_sha256 == sha256_hex(text.encode("utf-8"))):
            return None
        actor, how = who(settings, via)
        new = NewDeployment(
            server_id=server_id, workspace=settings.workspace, action="apply", actor=actor, via=how,
            config_text=text, result="partial" if failure is not None else "success",
            theme=theme_record(loaded.theme, loaded.written_variables, settings.environ),
            serial=result.serial, lineage=lineage,
            counts={**change_counts(result.to_dict()), **config_counts(loaded.config)},
            previous=previous.id if previous is not None else None,
            parent=previous.position if previous is not None else None)
        return record(ports, new, operation="apply", from_id=new.previous)
    except GaibError as exc:
        ports.notice(f"the deployment was applied but not recorded in the theme registry: {exc.message}")
        return None
