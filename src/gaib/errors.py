"""The GaibError tree.

Every failure a user can meet is one of these classes. Each carries a stable ``code`` (shown in
``--json`` output and in docs/exit-codes.md), the process ``exit_code`` it maps to, a one-line
``message`` and a ``hint`` telling the user what to do next. The CLI turns them into exit codes in
exactly one place (``gaib.cli.app``); services only raise them.

Exit codes: 0 ok · 1 general · 2 configuration · 3 state or integrity · 4 Discord API · 5 lock held ·
6 invalid input · 7 tier limit · 8 partial failure · 130 interrupted.
"""

from __future__ import annotations

from typing import Any, ClassVar

EXIT_OK = 0
EXIT_GENERAL = 1
EXIT_CONFIG = 2
EXIT_STATE = 3
EXIT_DISCORD = 4
EXIT_LOCKED = 5
EXIT_INVALID_INPUT = 6
EXIT_TIER_LIMIT = 7
EXIT_PARTIAL = 8
EXIT_INTERRUPTED = 130


class GaibError(Exception):
    """Base of every expected failure.

    ``message`` says what went wrong, ``hint`` what to do about it, ``details`` carries structured
    data for ``--json`` output (never secrets).
    """

    code: ClassVar[str] = "GAIB_ERROR"
    exit_code: ClassVar[int] = EXIT_GENERAL
    default_hint: ClassVar[str] = "Run the command again with --help to see its usage."

    def __init__(
        self,
        message: str,
        *,
        hint: str | None = None,
        code: str | None = None,
        details: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint if hint is not None else self.default_hint
        self.error_code = code or self.code
        self.details = details or {}

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "code": self.error_code,
            "message": self.message,
            "suggestion": self.hint,
        }
        if self.details:
            out["details"] = self.details
        return out


# --- 1: general ----------------------------------------------------------------------------------


class InternalError(GaibError):
    code = "INTERNAL_ERROR"
    default_hint = "This is a bug in Gaib; please report it with the command you ran."


class StorageError(GaibError):
    """The backup storage (files, SQLite, S3, DynamoDB) failed in a way that is not the user's input."""

    code = "STORAGE_ERROR"
    default_hint = "Check that the storage location is reachable and writable, then retry."


# --- 2: configuration ----------------------------------------------------------------------------


class ConfigError(GaibError):
    code = "CONFIG_INVALID"
    exit_code = EXIT_CONFIG
    default_hint = "Fix the configuration file at the location shown and run the command again."


class ConfigNotFound(ConfigError):
    code = "CONFIG_NOT_FOUND"
    default_hint = "Run 'gaib server init' to create discord-server.yaml, or pass -f PATH."


class MissingSetting(ConfigError):
    code = "SETTING_MISSING"
    default_hint = "Set it with a flag, an environment variable or gaib.yaml."


class SecretUnavailable(ConfigError):
    """A secret named in the configuration (the bot token a schedule names) cannot be read."""

    code = "SECRET_UNAVAILABLE"
    default_hint = ("Check that the secret exists, holds the value, and that this role may read it "
                    "(secretsmanager:GetSecretValue).")


class SecretRefused(ConfigError):
    """A value to be stored (state, backup, snapshot, export, catalog item) holds the bot token or a
    webhook token: refused, naming where, so no stored file ever carries it."""

    code = "SECRET_REFUSED"
    default_hint = ("Put a placeholder where the token is (never ${DISCORD_BOT_TOKEN} in the config); "
                    "the token is only ever read from the environment.")


# --- 3: state or integrity -----------------------------------------------------------------------


class StateError(GaibError):
    code = "STATE_INVALID"
    exit_code = EXIT_STATE
    default_hint = "Restore the state from a backup ('gaib server backup list') or fix the file by hand."


class StateNotFound(StateError):
    code = "STATE_NOT_FOUND"
    default_hint = "Run 'gaib server apply' or 'gaib server state pull' to create state first."


class SerialConflict(StateError):
    """A write found a newer serial than the one it read: somebody else wrote in between."""

    code = "STATE_SERIAL_CONFLICT"
    default_hint = "Another run changed the state meanwhile. Run the command again to work on the newest state."


class LineageMismatch(StateError):
    code = "STATE_LINEAGE_MISMATCH"
    default_hint = "The two states belong to different histories. Pass --force if you really mean to replace it."


class IntegrityError(StateError):
    """Stored bytes do not match their recorded checksum, or cannot be decoded."""

    code = "INTEGRITY_ERROR"
    default_hint = "The stored object is corrupted. Use another backup or snapshot; nothing was written."


class BundleNotAuthentic(IntegrityError):
    """A bundle's manifest is not this server's: it names another server or workspace than where it is
    stored, or its MAC (made with a key that is not in the store) does not verify."""

    code = "BUNDLE_NOT_AUTHENTIC"
    default_hint = ("The bundle was not written by Gaib for this server where it is stored (a copy or an edit); "
                    "nothing was read from it. Use another backup or snapshot, or restore another server's "
                    "structure with 'gaib server snapshot restore ID --from-server SERVER'.")


class ScheduleInvalid(StateError):
    """A stored backup schedule (document or catalog item) is damaged, malformed or names another server."""

    code = "SCHEDULE_INVALID"
    default_hint = "Write the schedule again with 'gaib server schedule enable'."


class Conflict(GaibError):
    """A write found its key already taken: objects and catalog items are never overwritten."""

    code = "CONFLICT"
    exit_code = EXIT_STATE
    default_hint = "Something with that key already exists and was left untouched. Run the command again."


# --- 4: Discord API ------------------------------------------------------------------------------


class DiscordError(GaibError):
    code = "DISCORD_API_ERROR"
    exit_code = EXIT_DISCORD
    default_hint = "Check the Discord error above; the request can be retried once it is fixed."


class DiscordAuthError(DiscordError):
    code = "DISCORD_INVALID_TOKEN"
    default_hint = "Check DISCORD_BOT_TOKEN: Discord rejected it (401)."


class DiscordPermissionError(DiscordError):
    code = "DISCORD_MISSING_PERMISSIONS"
    default_hint = ("Give the bot the Manage Roles and Manage Channels permissions and move its role above "
                    "the roles it manages.")


class DiscordNotFound(DiscordError):
    code = "DISCORD_NOT_FOUND"
    default_hint = "Check DISCORD_GUILD_ID and that the bot is a member of that server."


class DiscordRateLimited(DiscordError):
    code = "DISCORD_RATE_LIMITED"
    default_hint = "Discord is throttling this bot. Wait a while and run the command again."


class DiscordUnavailable(DiscordError):
    code = "DISCORD_UNAVAILABLE"
    default_hint = "Discord did not answer after several retries. Try again later."


# --- 5: lock held --------------------------------------------------------------------------------


class LockHeld(GaibError):
    code = "STATE_LOCKED"
    exit_code = EXIT_LOCKED
    default_hint = (
        "Wait for the other run to finish. If it died, release the lock with 'gaib server unlock'."
    )


# --- 6: invalid input ----------------------------------------------------------------------------


class InvalidInput(GaibError):
    code = "INVALID_INPUT"
    exit_code = EXIT_INVALID_INPUT
    default_hint = "Check the value and run the command again."


class InvalidName(InvalidInput):
    """An id, server id or workspace name failed the one name pattern (see gaib.names)."""

    code = "INVALID_NAME"


class NotFound(InvalidInput):
    """The user named something (backup id, workspace, address) that does not exist."""

    code = "NOT_FOUND"
    default_hint = "List what exists with the matching 'ls' or 'list' command."


class WorkspaceNotFound(NotFound):
    """``-w``, ``GAIB_WORKSPACE``, ``.gaib/.current-workspace`` or gaib.yaml names a workspace that does not
    exist: refused, as Terraform does, instead of being created by the first write."""

    code = "WORKSPACE_NOT_FOUND"
    default_hint = "List the workspaces with 'gaib server workspace ls'."


class AlreadyExists(InvalidInput):
    code = "ALREADY_EXISTS"
    default_hint = "Choose another name."


class ConfirmationRequired(InvalidInput):
    code = "CONFIRMATION_REQUIRED"
    default_hint = "Run it on a terminal to be asked, or pass --yes to confirm."


class SecretNotBound(InvalidInput):
    """A bot token secret whose ``ServerId`` tag does not name the server it is used for."""

    code = "SECRET_NOT_BOUND"


class OperatorOnly(GaibError):
    """AWS refused a change only the operator role may make (a tier)."""

    code = "OPERATOR_ONLY"
    default_hint = "Ask the operator to run it with the operator role (GAIB_OPERATOR_ROLE_ARN's role)."


class UsageError(InvalidInput):
    code = "USAGE_ERROR"


# --- 7: tier limit -------------------------------------------------------------------------------


class TierLimit(GaibError):
    code = "TIER_LIMIT"
    exit_code = EXIT_TIER_LIMIT
    default_hint = "Wait for the quota to reset, or upgrade the server to the premium tier."


# --- 8: partial failure --------------------------------------------------------------------------


class PartialFailure(GaibError):
    code = "PARTIAL_FAILURE"
    exit_code = EXIT_PARTIAL
    default_hint = "Some steps failed; fix the errors listed and run the command again to finish."


class PersonalDataRefused(PartialFailure):
    """A snapshot's personal parts (bans, members, messages) were not given out: the caller's bot token
    does not belong to the server and the caller is not the operator role (the structure was)."""

    code = "PERSONAL_DATA_REFUSED"
    default_hint = ("Set DISCORD_BOT_TOKEN to the bot token of this server, or pass --structure-only to read "
                    "the structure without the bans, members and messages.")


# --- 130: interrupted ----------------------------------------------------------------------------


class Interrupted(GaibError):
    """Ctrl-C: the shell's convention for a SIGINT (128 + 2)."""

    code = "INTERRUPTED"
    exit_code = EXIT_INTERRUPTED
    default_hint = "Nothing half-written is left behind; run the command again."
