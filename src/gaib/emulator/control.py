"""The control API under ``/_emulator`` (no auth, test-only): a route table like Discord's, and its handlers.

Routes (docs/emulator.md lists what each does): ``/info`` (also ``/_emulator`` and ``/_emulator/``),
``/limits``, ``/clock``, ``/caps``, ``/latency``, ``/requests``, ``/stats``, ``/reset``, ``/faults``,
``/webhooks/{webhook_id}/messages``, and the seeding routes ``/guild``, ``/emojis``, ``/bans``, ``/members`` and
``/channels/{channel_id}/messages``. Every request holds the emulator's lock; an
:class:`~gaib.emulator.apierrors.ApiError` becomes Discord's JSON error (an unknown path 404, a
method a route does not serve 405, a bad setting 50035, a body that is not JSON 50109). The emoji,
ban and message seeding routes save the data file at once; a boost-level change is saved with the
next save (after a Discord request that reaches its handler, a seeding route or a reset).

Matching kept as the control API has always answered it: the seeding routes and the webhook
messages route match the path with its surrounding slashes ignored, the others only exactly; and
``/guild``, ``/emojis`` and ``/bans`` answer a method they do not serve 404, like an unknown path.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from gaib.emulator import apierrors as E
from gaib.emulator.apierrors import ApiError
from gaib.emulator.faults import FaultConfig, FaultConfigError
from gaib.emulator.outcome import Outcome, error_outcome

if TYPE_CHECKING:
    from gaib.emulator.server import Emulator

CONTROL_PREFIX = "/_emulator"


@dataclass(frozen=True)
class ControlCall:
    emu: Emulator
    method: str
    params: dict[str, str]
    body: bytes

    def payload(self) -> Any:
        """The JSON body (``{}`` when empty); 50109 when it is not JSON."""
        try:
            return json.loads(self.body.decode("utf-8")) if self.body.strip() else {}
        except (UnicodeDecodeError, json.JSONDecodeError):
            raise ApiError(400, E.INVALID_JSON, "The request body contains invalid JSON.") from None


ControlHandler = Callable[[ControlCall], Outcome]


def _invalid(message: str) -> ApiError:
    return ApiError(400, E.INVALID_FORM_BODY, message, errors={"_errors": [
        {"code": "EMULATOR_SETTING_INVALID", "message": message}]})


# ---- settings and inspection ----------------------------------------------------------------

def _info(c: ControlCall) -> Outcome:
    emu = c.emu
    return Outcome(200, {"base_url": emu.base_url, "guild_id": emu.guild_id, "guild_name": emu.state.guild_name,
                         "rate_limits": emu.rate_limits, "latency_ms": emu.latency_ms})


def _limits(c: ControlCall) -> Outcome:
    return Outcome(200, c.emu.limits())


def _clock(c: ControlCall) -> Outcome:
    return Outcome(200, c.emu.limits()["clock"])


def _advance_clock(c: ControlCall) -> Outcome:
    data = c.payload()
    seconds = data.get("advance") if isinstance(data, dict) else None
    if isinstance(seconds, bool) or not isinstance(seconds, int | float):
        raise _invalid("expected {\"advance\": seconds}")
    try:
        c.emu.advance_clock(float(seconds))
    except ValueError as exc:
        raise _invalid(str(exc)) from None
    return _clock(c)


def _caps(c: ControlCall) -> Outcome:
    return Outcome(200, c.emu.limiter.caps(c.emu.guild_id))


def _spend_caps(c: ControlCall) -> Outcome:
    data = c.payload()
    if not isinstance(data, dict):
        raise _invalid("expected {\"role_creates\": n, \"channel_creates\": n, \"role_edits\": n}")
    try:
        c.emu.spend_caps(data)
    except ValueError as exc:
        raise _invalid(str(exc)) from None
    return _caps(c)


def _latency(c: ControlCall) -> Outcome:
    return Outcome(200, {"latency_ms": c.emu.latency_ms})


def _set_latency(c: ControlCall) -> Outcome:
    data = c.payload()
    try:
        c.emu.set_latency(data.get("latency_ms") if isinstance(data, dict) else None)  # type: ignore[arg-type]
    except ValueError as exc:
        raise _invalid(str(exc)) from None
    return _latency(c)


def _requests(c: ControlCall) -> Outcome:
    return Outcome(200, c.emu.requests())


def _stats(c: ControlCall) -> Outcome:
    return Outcome(200, c.emu.stats())


def _reset(c: ControlCall) -> Outcome:
    c.emu.reset()
    return Outcome(200, {"reset": True})


def _faults(c: ControlCall) -> Outcome:
    return Outcome(200, c.emu.faults.config.to_json())


def _set_faults(c: ControlCall) -> Outcome:
    data = c.payload()
    try:
        c.emu.set_faults(FaultConfig.from_json(data, c.emu.faults.config))
    except FaultConfigError as exc:
        raise ApiError(400, E.INVALID_FORM_BODY, str(exc), errors={"_errors": [
            {"code": "FAULT_CONFIG_INVALID", "message": str(exc)}]}) from None
    return _faults(c)


def _webhook_messages(c: ControlCall) -> Outcome:
    return Outcome(200, c.emu.webhook_messages(c.params["webhook_id"]))


# ---- seeding ----------------------------------------------------------------------------------

def _guild(c: ControlCall) -> Outcome:
    settings = c.emu.state.settings
    return Outcome(200, {"premium_tier": settings.premium_tier, "features": settings.features})


def _set_guild(c: ControlCall) -> Outcome:
    data = c.payload()
    settings = c.emu.state.settings
    if isinstance(data, dict) and "features" in data:
        settings.set_granted_features(data["features"])
    if not isinstance(data, dict) or "premium_tier" in data or "features" not in data:
        settings.set_premium_tier(data.get("premium_tier") if isinstance(data, dict) else None)
    return _guild(c)


def _seed_emojis(c: ControlCall) -> Outcome:
    data = c.payload()
    out = []
    for item in data if isinstance(data, list) else []:
        image = base64.b64decode(str(item.get("image", "")))
        out.append(c.emu.state.emojis.seed(str(item.get("name")), image, [str(r) for r in item.get("roles", [])]))
    c.emu.save_if_changed()
    return Outcome(200, out)


def _seed_bans(c: ControlCall) -> Outcome:
    count = c.emu.state.bans.seed(c.payload())
    c.emu.save_if_changed()
    return Outcome(200, {"seeded": count})


def _seed_members(c: ControlCall) -> Outcome:
    count = c.emu.state.members.seed(c.payload())
    c.emu.save_if_changed()
    return Outcome(200, {"seeded": count})


def _posted_messages(c: ControlCall) -> Outcome:
    return Outcome(200, c.emu.state.messages.posted_to(c.params["channel_id"]))


def _seed_messages(c: ControlCall) -> Outcome:
    created = c.emu.state.messages.seed(c.params["channel_id"], c.payload())
    c.emu.save_if_changed()
    return Outcome(200, created)


@dataclass(frozen=True)
class ControlRoute:
    methods: Mapping[str, ControlHandler]
    by_segments: bool = False  # matched with the path's surrounding slashes ignored
    other_methods_unknown: bool = False  # a method it does not serve answers 404, not 405


ROUTES: dict[str, ControlRoute] = {
    "/info": ControlRoute({"GET": _info}),
    "/limits": ControlRoute({"GET": _limits}),
    "/clock": ControlRoute({"GET": _clock, "POST": _advance_clock}),
    "/caps": ControlRoute({"GET": _caps, "POST": _spend_caps}),
    "/latency": ControlRoute({"GET": _latency, "POST": _set_latency}),
    "/requests": ControlRoute({"GET": _requests}),
    "/stats": ControlRoute({"GET": _stats}),
    "/reset": ControlRoute({"POST": _reset}),
    "/faults": ControlRoute({"GET": _faults, "POST": _set_faults}),
    "/webhooks/{webhook_id}/messages": ControlRoute({"GET": _webhook_messages}, by_segments=True),
    "/guild": ControlRoute({"GET": _guild, "POST": _set_guild}, by_segments=True, other_methods_unknown=True),
    "/emojis": ControlRoute({"POST": _seed_emojis}, by_segments=True, other_methods_unknown=True),
    "/bans": ControlRoute({"POST": _seed_bans}, by_segments=True, other_methods_unknown=True),
    "/members": ControlRoute({"POST": _seed_members}, by_segments=True, other_methods_unknown=True),
    "/channels/{channel_id}/messages": ControlRoute({"GET": _posted_messages, "POST": _seed_messages},
                                                    by_segments=True),
}

_SEGMENTS = [(template, template.strip("/").split("/")) for template, route in ROUTES.items() if route.by_segments]


def match(path: str) -> tuple[str, dict[str, str]] | None:
    """The route template and path parameters for ``path`` (relative to ``/_emulator``), or None."""
    if path in ("", "/"):
        return "/info", {}
    route = ROUTES.get(path)
    if route is not None and not route.by_segments:
        return path, {}
    parts = path.strip("/").split("/")
    for template, pattern in _SEGMENTS:
        if len(pattern) != len(parts):
            continue
        params: dict[str, str] = {}
        for want, got in zip(pattern, parts, strict=True):
            if want.startswith("{"):
                params[want[1:-1]] = got
            elif want != got:
                break
        else:
            return template, params
    return None


def handle_control(emu: Emulator, method: str, raw_path: str, body: bytes) -> Outcome:
    """Answer one control request (the path starts with ``/_emulator``); never logged or recorded."""
    path = urlsplit(raw_path).path[len(CONTROL_PREFIX):]
    with emu.lock:
        try:
            found = match(path)
            if found is None:
                raise E.route_not_found()
            template, params = found
            route = ROUTES[template]
            handler = route.methods.get(method)
            if handler is None:
                raise E.route_not_found() if route.other_methods_unknown else E.method_not_allowed()
            return handler(ControlCall(emu, method, params, body))
        except ApiError as exc:
            return error_outcome(exc)
