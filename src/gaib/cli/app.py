"""The root command and the one place where errors become exit codes."""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from typing import TYPE_CHECKING

import click

from gaib import __version__
from gaib.cli.base import Ctx, group, output_options
from gaib.errors import GaibError, InternalError, Interrupted, UsageError

if TYPE_CHECKING:
    from gaib.cli.context import Env

SERVER_COMMANDS: dict[str, tuple[str, str]] = {
    "init": ("gaib.cli.iac:init", "Create discord-server.yaml, optionally from a theme."),
    "plan": ("gaib.cli.iac:plan", "Show what apply would change (reads only)."),
    "diff": ("gaib.cli.iac:diff", "Show config vs Discord differences field by field."),
    "apply": ("gaib.cli.iac:apply", "Make Discord match the config."),
    "destroy": ("gaib.cli.iac:destroy", "Delete every object the state manages."),
    "teardown": ("gaib.cli.teardown:teardown", "Delete EVERY role, category and channel of the server."),
    "export": ("gaib.cli.iac:export", "Write the live server as YAML config."),
    "import": ("gaib.cli.iac:import_", "Start managing an existing Discord object."),
    "backup": ("gaib.cli.backup:backup", "State backups: create, list, restore, delete, prune, run-scheduled, "
                                         "verify."),
    "schedule": ("gaib.cli.schedule:schedule", "Scheduled backups of the server: show, enable, disable."),
    "snapshot": ("gaib.cli.snapshot:snapshot", "Full snapshots: create, list, restore, download, compare, prune."),
    "theme": ("gaib.cli.theme:theme", "Themes and deployments: ls, info, registry, history, rollback, audit."),
    "tier": ("gaib.cli.tier:tier", "The server's service tier: show, set (operators)."),
    "workspace": ("gaib.cli.workspace:workspace", "Manage workspaces (ls, new, use, show, rm)."),
    "state": ("gaib.cli.state:state", "Inspect and edit the state (ls, show, rm, mv)."),
    "locks": ("gaib.cli.locks:locks", "Show who holds the state lock."),
    "unlock": ("gaib.cli.locks:unlock", "Force-release the state lock."),
}

SERVER_ALIASES: dict[str, str] = {"ws": "workspace", "st": "state", "th": "theme", "lock-status": "locks",
                                  "force-unlock": "unlock"}
"""The original Gaib's names for commands."""

server = group("server", "Manage a Discord server as code and keep it safe.", lazy=SERVER_COMMANDS,
               aliases=SERVER_ALIASES)


@click.group(cls=type(server), name="gaib", no_args_is_help=True,
             context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, "--version", prog_name="gaib", message="%(prog)s %(version)s")
@output_options
def cli() -> None:
    """Gaib: Discord servers as code, with backups, snapshots and rollback."""


cli.add_command(server)


def _exit_for_click(exc: click.ClickException) -> UsageError:
    message = exc.format_message()
    return UsageError(message, hint="Run the command with --help to see its usage.")


def main(argv: Sequence[str] | None = None, env: Env | None = None) -> int:
    """Run gaib and return (or, as the console script, exit with) the process exit code."""
    from gaib.cli import context
    from gaib.cli.output import Output

    standalone = argv is None and env is None
    env = env or context.Env()
    obj = Ctx(env=env, out=Output(env=env))  # colour unless --no-color or NO_COLOR (read when first asked)
    args = list(argv) if argv is not None else None
    if args is None:
        import sys

        args = sys.argv[1:]
    obj.out.json_mode = "--json" in args  # so parse errors are enveloped too
    code = _run(args, obj)
    if standalone:
        raise SystemExit(code)
    return code


def _run(args: list[str], obj: Ctx) -> int:
    # click writes help and --version to sys.stdout; point it at the injected streams.
    with contextlib.redirect_stdout(obj.env.stdout), contextlib.redirect_stderr(obj.env.stderr):
        try:
            return _dispatch(args, obj)
        finally:
            obj.close()


def _dispatch(args: list[str], obj: Ctx) -> int:
    try:
        cli.main(args=args, prog_name="gaib", obj=obj, standalone_mode=False)
        return 0
    except GaibError as exc:
        obj.out.error(exc)
        return exc.exit_code
    except click.exceptions.Exit as exc:
        return int(exc.exit_code or 0)
    except click.exceptions.Abort:
        obj.out.error(UsageError("Aborted.", hint="Run the command again when ready."))
        return UsageError.exit_code
    except click.ClickException as exc:
        usage = _exit_for_click(exc)
        obj.out.error(usage)
        return usage.exit_code
    except KeyboardInterrupt:
        interrupted = Interrupted("Interrupted.")
        obj.out.error(interrupted)
        return interrupted.exit_code
    except BrokenPipeError:
        return 0
    except Exception as exc:  # the last line of defence: never a traceback for the user
        if obj.env.environ.get("GAIB_DEBUG"):
            raise
        internal = InternalError(f"Unexpected {type(exc).__name__}: {exc}")
        obj.out.error(internal)
        return internal.exit_code
