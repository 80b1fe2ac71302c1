"""The safety routes the emulator serves (registered in :data:`gaib.emulator.routes.ROUTES`).

Status codes as the OpenAPI spec declares them: rule create 200, event create 200, sound create 201,
deletes 204, onboarding PUT 200.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from gaib.emulator.routes import Call, Handler, Reply


def _reply(status: int, body: object = None) -> Reply:
    from gaib.emulator.routes import Reply

    return Reply(status, body)


def _list_rules(c: Call) -> Reply:
    return _reply(200, c.state.safety.automod.listing())


def _create_rule(c: Call) -> Reply:
    return _reply(200, c.state.safety.automod.create(c.body))


def _get_rule(c: Call) -> Reply:
    return _reply(200, c.state.safety.automod.get(c.params["rule_id"]))


def _update_rule(c: Call) -> Reply:
    return _reply(200, c.state.safety.automod.update(c.params["rule_id"], c.body))


def _delete_rule(c: Call) -> Reply:
    c.state.safety.automod.delete(c.params["rule_id"])
    return _reply(204)


def _get_onboarding(c: Call) -> Reply:
    return _reply(200, c.state.safety.onboarding.get())


def _put_onboarding(c: Call) -> Reply:
    return _reply(200, c.state.safety.onboarding.put(c.body))


def _get_welcome(c: Call) -> Reply:
    return _reply(200, c.state.safety.onboarding.get_welcome())


def _patch_welcome(c: Call) -> Reply:
    return _reply(200, c.state.safety.onboarding.patch_welcome(c.body))


def _list_events(c: Call) -> Reply:
    return _reply(200, c.state.safety.events.listing(c.query.get("with_user_count") in ("true", "True", "1")))


def _create_event(c: Call) -> Reply:
    return _reply(200, c.state.safety.events.create(c.body))


def _get_event(c: Call) -> Reply:
    return _reply(200, c.state.safety.events.get(c.params["guild_scheduled_event_id"]))


def _update_event(c: Call) -> Reply:
    return _reply(200, c.state.safety.events.update(c.params["guild_scheduled_event_id"], c.body))


def _delete_event(c: Call) -> Reply:
    c.state.safety.events.delete(c.params["guild_scheduled_event_id"])
    return _reply(204)


def _list_sounds(c: Call) -> Reply:
    return _reply(200, c.state.safety.sounds.listing())


def _create_sound(c: Call) -> Reply:
    return _reply(201, c.state.safety.sounds.create(c.body))


def _get_sound(c: Call) -> Reply:
    return _reply(200, c.state.safety.sounds.get(c.params["sound_id"]))


def _update_sound(c: Call) -> Reply:
    return _reply(200, c.state.safety.sounds.update(c.params["sound_id"], c.body))


def _delete_sound(c: Call) -> Reply:
    c.state.safety.sounds.delete(c.params["sound_id"])
    return _reply(204)


SAFETY_ROUTES: dict[str, dict[str, Handler]] = {
    "/guilds/{guild_id}/auto-moderation/rules": {"GET": _list_rules, "POST": _create_rule},
    "/guilds/{guild_id}/auto-moderation/rules/{rule_id}": {"GET": _get_rule, "PATCH": _update_rule,
                                                           "DELETE": _delete_rule},
    "/guilds/{guild_id}/onboarding": {"GET": _get_onboarding, "PUT": _put_onboarding},
    "/guilds/{guild_id}/welcome-screen": {"GET": _get_welcome, "PATCH": _patch_welcome},
    "/guilds/{guild_id}/scheduled-events": {"GET": _list_events, "POST": _create_event},
    "/guilds/{guild_id}/scheduled-events/{guild_scheduled_event_id}": {"GET": _get_event, "PATCH": _update_event,
                                                                        "DELETE": _delete_event},
    "/guilds/{guild_id}/soundboard-sounds": {"GET": _list_sounds, "POST": _create_sound},
    "/guilds/{guild_id}/soundboard-sounds/{sound_id}": {"GET": _get_sound, "PATCH": _update_sound,
                                                        "DELETE": _delete_sound},
}
