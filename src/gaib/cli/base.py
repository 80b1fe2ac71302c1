"""Click plumbing shared by every command group: the context object, global flags, lazy groups.

Global flags (``--json``, ``-q/--quiet``, ``--no-color``) are accepted both before the command
(``gaib --json server ...``) and on every leaf command (``gaib server backup list --json``).
Sub-commands are imported only when they run, so ``gaib --help`` stays fast.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

import click

from gaib.errors import ConfirmationRequired, Interrupted, UsageError

if TYPE_CHECKING:
    from gaib.cli.context import Env
    from gaib.cli.output import Output
    from gaib.settings import Settings
    from gaib.wiring import App

F = TypeVar("F", bound=Callable[..., Any])

_ANY_WORKSPACE = "_gaib_any_workspace"


class Ctx:
    """Per-invocation state handed to every command through ``click.Context.obj``.

    The flags set ``workspace``, ``guild_id``, ``config_file``, ``backend`` and ``state_path``;
    settings and the composition root are built from them on first use.
    """

    def __init__(self, env: Env, out: Output) -> None:
        self.env = env
        self.out = out
        self.workspace: str | None = None
        self.guild_id: str | None = None
        self.config_file: str | None = None
        self.backend: str | None = None
        self.state_path: str | None = None
        self.detailed_exitcode = False
        """``plan --detailed-exitcode`` was given: every error exits 1 (``gaib.cli.app``), as Terraform's."""
        self.exit_code = 0
        """The exit code of a command that succeeded: 0, or 2 for ``plan --detailed-exitcode`` with changes."""
        self._settings: Settings | None = None
        self._app: App | None = None

    def settings(self) -> Settings:
        """Resolved settings (flags > env > gaib.yaml > defaults); built once per invocation."""
        if self._settings is None:
            from gaib.settings import Settings

            self._settings = Settings.resolve(
                self.env,
                workspace=self.workspace,
                guild_id=self.guild_id,
                config_file=self.config_file,
                backend=self.backend,
                state_path=self.state_path,
            )
            if self._settings.bot_token:
                self.out.secrets.append(self._settings.bot_token)
            for warning in self._settings.warnings:
                self.out.warn(warning)
        return self._settings

    def app(self, *, own_credentials: bool = False) -> App:
        """The composition root of this invocation (built once; closed by ``gaib.cli.app.main``).

        With ``GAIB_SERVER_ROLE_ARN``, a command acts on its server through that role's session, unless it
        asks for ``own_credentials`` (a scheduled run's cross-server work, an operator's ``tier set``); the
        first call decides.

        Unless the command is marked :func:`any_workspace`, the chosen workspace must exist first
        (WorkspaceNotFound, exit 6): a mistyped ``-w`` never plans against, or creates, a new workspace.
        """
        if self._app is None:
            from gaib.wiring import App

            self._app = App(self.settings(), clock=self.env.clock, notice=self.out.warn,
                            per_server=not own_credentials)
            if _workspace_bound():
                from gaib.iac import state_service

                state_service.require_workspace(self._app)
        return self._app

    def close(self) -> None:
        if self._app is not None:
            self._app.close()
            self._app = None

    def confirm(self, question: str, yes: bool) -> None:
        """Ask before a destructive step; refuse without a terminal unless ``yes`` (exit 6)."""
        if yes:
            return
        if not self.env.interactive() or self.out.json_mode:
            raise ConfirmationRequired(
                f"{question} Refusing without confirmation: no terminal to ask on.",
            )
        from gaib.cli.text import printable

        self.env.stderr.write(f"{printable(question)} [y/N]: ")
        self.env.stderr.flush()
        answer = self.answer().strip().lower()
        if answer not in ("y", "yes"):
            raise ConfirmationRequired("Cancelled: not confirmed.", hint="Answer 'y' to go ahead, or pass --yes.")

    def answer(self) -> str:
        """One line typed at a prompt. Ctrl-D (end of input) is Interrupted, exit 130, as Ctrl-C is
        (``KeyboardInterrupt``, mapped by ``gaib.cli.app``): the person left, nothing was changed."""
        line = self.env.stdin.readline()
        if not line:
            raise Interrupted("Interrupted at the prompt (end of input); nothing was changed.",
                              hint="Run the command again and answer the question, or pass --yes.")
        return line.rstrip("\n")


def any_workspace(f: F) -> F:
    """Mark a command that works on no one workspace (the workspace commands themselves, the server's tier,
    ``schedule show|disable``, prune, scheduled runs, verify): it runs whichever workspace is chosen,
    existing or not. Every other command that opens the ports refuses a workspace that does not exist."""
    setattr(f, _ANY_WORKSPACE, True)
    return f


def _workspace_bound() -> bool:
    current = click.get_current_context(silent=True)
    callback = current.command.callback if current is not None else None
    return not getattr(callback, _ANY_WORKSPACE, False)


def get_ctx() -> Ctx:
    obj = click.get_current_context().find_object(Ctx)
    if obj is None:  # pragma: no cover - main() always installs one
        raise RuntimeError("gaib command run without its context")
    return obj


def _set_flag(name: str) -> Callable[[click.Context, click.Parameter, Any], None]:
    def callback(ctx: click.Context, _param: click.Parameter, value: Any) -> None:
        obj = ctx.find_object(Ctx)
        if obj is None or value is None or value is False:
            return
        if name == "json":
            obj.out.json_mode = True
        elif name == "quiet":
            obj.out.quiet = True
        elif name == "no_color":
            obj.out.color = False
        elif name == "detailed_exitcode":
            obj.detailed_exitcode = True
        elif name in ("workspace", "guild_id", "config_file", "backend", "state_path"):
            setattr(obj, name, value)

    return callback


def output_options(f: F) -> F:
    """``--json``, ``-q/--quiet`` and ``--no-color``, usable on any command."""
    f = click.option("--no-color", is_flag=True, expose_value=False, is_eager=True,
                     callback=_set_flag("no_color"), help="Plain output without colours.")(f)
    f = click.option("-q", "--quiet", is_flag=True, expose_value=False, is_eager=True,
                     callback=_set_flag("quiet"), help="Only print the result.")(f)
    f = click.option("--json", "json_", is_flag=True, expose_value=False, is_eager=True,
                     callback=_set_flag("json"), help="Print one JSON object on stdout.")(f)
    return f


def detailed_exitcode_option(f: F) -> F:
    """``--detailed-exitcode`` (Terraform's): 0 no changes, 2 changes pending, 1 any error. Eager, so an
    error raised while the command runs already maps to 1."""
    return click.option("--detailed-exitcode", is_flag=True, expose_value=False, is_eager=True,
                        callback=_set_flag("detailed_exitcode"),
                        help="Exit 0 when there are no changes, 2 when changes are pending, 1 on any error.")(f)


def server_options(f: F) -> F:
    """Output options plus ``-w/--workspace``, ``-g/--guild``, ``-f/--file``, ``--backend`` and
    ``--state-path``."""
    return _server_options(f, file_flags=("-f", "--file"))


def server_options_without_f(f: F) -> F:
    """:func:`server_options` with ``--file`` only: for commands whose ``-f`` means ``--force``, as in the
    original Gaib (``workspace rm -f``)."""
    return _server_options(f, file_flags=("--file",))


def _server_options(f: F, *, file_flags: tuple[str, ...]) -> F:
    f = click.option("--state-path", expose_value=False, is_eager=True, metavar="DIR",
                     callback=_set_flag("state_path"), help="Local state folder [GAIB_STATE_PATH, default .gaib].")(f)
    f = click.option("--backend", type=click.Choice(["local", "s3"]), expose_value=False, is_eager=True,
                     callback=_set_flag("backend"), help="Where state lives [GAIB_BACKEND, gaib.yaml].")(f)
    f = click.option(*file_flags, "config_file", expose_value=False, is_eager=True, metavar="PATH",
                     callback=_set_flag("config_file"),
                     help="Server config file (default discord-server.yaml).")(f)
    f = click.option("-g", "--guild", "guild_id", expose_value=False, is_eager=True, metavar="ID",
                     callback=_set_flag("guild_id"), help="Discord server (guild) id [DISCORD_GUILD_ID].")(f)
    f = click.option("-w", "--workspace", expose_value=False, is_eager=True, metavar="NAME",
                     callback=_set_flag("workspace"), help="Workspace to use [GAIB_WORKSPACE].")(f)
    return output_options(f)


class SuggestingGroup(click.Group):
    """A group that suggests the nearest command for a typo, and loads sub-commands lazily.

    ``lazy`` maps a command name to ``("module:attribute", "short help")``.
    """

    def __init__(self, *args: Any, lazy: dict[str, tuple[str, str]] | None = None,
                 aliases: dict[str, str] | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.lazy = dict(lazy or {})
        self.aliases = dict(aliases or {})
        """Other names of commands (the original Gaib's: ``ws`` for ``workspace``), shown in the help."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *self.lazy})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        cmd_name = self.aliases.get(cmd_name, cmd_name)
        if cmd_name in self.lazy:
            target = self.lazy[cmd_name][0]
            module_name, attr = target.split(":")
            cmd = getattr(importlib.import_module(module_name), attr)
            assert isinstance(cmd, click.Command)
            return cmd
        return super().get_command(ctx, cmd_name)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        rows = []
        others: dict[str, list[str]] = {}
        for alias, target in self.aliases.items():
            others.setdefault(target, []).append(alias)
        for name in self.list_commands(ctx):
            shown = ", ".join([name, *others.get(name, [])])
            if name in self.lazy:
                rows.append((shown, self.lazy[name][1]))
            else:
                cmd = super().get_command(ctx, name)
                if cmd is not None and not cmd.hidden:
                    rows.append((shown, cmd.get_short_help_str(limit=formatter.width - 20)))
        if rows:
            with formatter.section("Commands"):
                formatter.write_dl(rows)

    def resolve_command(
        self, ctx: click.Context, args: list[str]
    ) -> tuple[str | None, click.Command | None, list[str]]:
        name = args[0] if args else ""
        if name in self.aliases:
            args = [self.aliases[name], *args[1:]]
        if name and not name.startswith("-") and self.get_command(ctx, name) is None:
            import difflib

            names = self.list_commands(ctx)
            close = difflib.get_close_matches(name, names, n=1, cutoff=0.5)
            where = ctx.command_path
            hint = (f"Did you mean '{where} {close[0]}'?" if close
                    else f"Run '{where} --help' to list the commands.")
            raise UsageError(f"No such command '{name}' in '{where}'.", hint=hint,
                             code="UNKNOWN_COMMAND")
        return super().resolve_command(ctx, args)


def group(name: str, help: str, lazy: dict[str, tuple[str, str]] | None = None,
          aliases: dict[str, str] | None = None) -> SuggestingGroup:
    grp = SuggestingGroup(name=name, help=help, lazy=lazy, aliases=aliases, no_args_is_help=True)
    return grp
