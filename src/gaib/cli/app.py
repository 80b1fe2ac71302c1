"""The root command and the one place where errors become exit codes."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Sequence
from typing import TYPE_CHECKING, TextIO

import click

from gaib import __version__, interrupt
from gaib.cli.base import Ctx, group, output_options
from gaib.errors import EXIT_GENERAL, GaibError, InternalError, Interrupted, UsageError

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
                                         "verify, migrate, reseal."),
    "schedule": ("gaib.cli.schedule:schedule", "Scheduled backups of the server: show, enable, disable."),
    "notify": ("gaib.cli.schedule:notify", "The server's own notifications: set, show, test, clear."),
    "snapshot": ("gaib.cli.snapshot:snapshot", "Full snapshots: create, list, restore, download, compare, delete, "
                                               "prune."),
    "theme": ("gaib.cli.theme:theme", "Themes and deployments: ls, info, registry, history, rollback, audit."),
    "tier": ("gaib.cli.tier:tier", "The server's service tier: show, set (operators)."),
    "workspace": ("gaib.cli.workspace:workspace", "Manage workspaces (ls, new, use, show, rm)."),
    "state": ("gaib.cli.state:state", "Inspect and edit the state (ls, show, rm, mv, pull)."),
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


def _failed(obj: Ctx, code: int) -> int:
    """An error's exit code; 1 for every error under ``plan --detailed-exitcode`` (where 2 means "changes")."""
    return EXIT_GENERAL if obj.detailed_exitcode else code


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
    if not standalone:
        # In-process callers (tests, embedding) run more commands in this process: an interruption of this
        # one must not stop theirs. A console-script process ends here, so its flag stays for stuck workers.
        interrupt.reset()
    if standalone:
        if code == Interrupted.exit_code:
            interrupt.abandon_stuck_threads(code)
        raise SystemExit(code)
    return code


def _run(args: list[str], obj: Ctx) -> int:
    # click writes help and --version to sys.stdout; point it at the injected streams.
    with (contextlib.redirect_stdout(obj.env.stdout), contextlib.redirect_stderr(obj.env.stderr),
          interrupt.handling_sigint()):
        try:
            try:
                return _dispatch(args, obj)
            finally:
                obj.close()
        except KeyboardInterrupt:  # a Ctrl-C while the error was written or the run's clients closed
            return _interrupted(obj)


def _interrupted(obj: Ctx) -> int:
    """Ctrl-C (or end of input at a prompt): exit 130, ``INTERRUPTED``. Every wait has ended, the lock
    is released and what was done is recorded by the time this runs."""
    interrupt.request_stop()
    error = Interrupted(
        "Interrupted. Everything done before is recorded; nothing was half-written and the state lock is "
        "released.",
        hint="Run the same command again: it carries on from where this run stopped.")
    obj.out.error(error)
    return error.exit_code


def help_width(stdout: TextIO) -> int:
    """The width click wraps help and usage to, as click computes it (the terminal's columns, at most 80,
    minus 2, at least 50; 80 columns when ``stdout`` is no terminal) but without click's call to
    ``shutil.get_terminal_size``: shutil loads bz2, lzma and fnmatch, a quarter of bare Python's
    start-up, for ``gaib --help`` alone. Unlike shutil it does not read ``COLUMNS``."""
    try:
        columns = os.get_terminal_size(stdout.fileno()).columns
    except (AttributeError, ValueError, OSError):  # not a terminal, or a stream without a file (tests)
        columns = 0
    return max(min(columns or 80, 80) - 2, 50)


def _dispatch(args: list[str], obj: Ctx) -> int:
    try:
        cli.main(args=args, prog_name="gaib", obj=obj, standalone_mode=False,
                 terminal_width=help_width(obj.env.stdout))
        return obj.exit_code
    except GaibError as exc:
        obj.out.error(exc)
        return _failed(obj, exc.exit_code)
    except click.exceptions.Exit as exc:
        return int(exc.exit_code or 0)
    except (click.exceptions.Abort, KeyboardInterrupt):
        # click turns a KeyboardInterrupt (and end of input at one of its prompts) into Abort.
        return _interrupted(obj)
    except click.ClickException as exc:
        # Usage errors (an unknown option, a missing argument, a bad value) exit 6 as every USAGE_ERROR:
        # click's own 2 would read as a configuration error.
        usage = _exit_for_click(exc)
        obj.out.error(usage)
        return _failed(obj, usage.exit_code)
    except BrokenPipeError:
        return 0
    except Exception as exc:  # the last line of defence: never a traceback for the user
        if obj.env.environ.get("GAIB_DEBUG"):
            raise
        internal = InternalError(f"Unexpected {type(exc).__name__}: {exc}")
        obj.out.error(internal)
        return internal.exit_code
