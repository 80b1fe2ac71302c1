"""Answers requests to Discord's routes (everything outside ``/_emulator`` and ``/cdn/``): the order of checks.

Order of checks for a Discord route (each may end the request): the Cloudflare ban (429, text) →
fault injection → route (404) → method (405) → Authorization ``Bot <token>`` (401, not for webhook
execution) → rate limits (429) → path ids (50035) → guild id (10004) → Content-Type and JSON body
(50035 / 50109) → the handler of :mod:`gaib.emulator.routes` → the audit-log entry of a change
(:mod:`gaib.emulator.stores.audit`). Answers 401, 403 and 429 (except
scope ``shared``) count as invalid requests (:mod:`gaib.emulator.ratelimit`). The data file is
saved after every handled request that changed the guild.

Latency: ``latency_ms`` (``--latency-ms``, default 0) delays every Discord request, half before it is
processed and half before it is answered, like a network round trip; requests are served
concurrently, so concurrent clients overlap their waits as they would against Discord.
"""

from __future__ import annotations

import json
import math
import time
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, urlsplit

from gaib.discord import limits as L
from gaib.emulator import apierrors as E
from gaib.emulator.apierrors import ApiError
from gaib.emulator.faults import SERVER_ERRORS
from gaib.emulator.fields import parse_snowflake, shown
from gaib.emulator.multipart import MultipartError, parse_multipart
from gaib.emulator.outcome import Outcome, error_outcome
from gaib.emulator.ratelimit import NAME_TOPIC_ROUTE
from gaib.emulator.routes import API_PREFIX, ROUTES, WEBHOOK_EXECUTE, Call, Handler, audit_reason, major_id, match

if TYPE_CHECKING:
    from gaib.emulator.server import Emulator


def handle_api(emu: Emulator, method: str, raw_path: str, headers: dict[str, str], body: bytes) -> Outcome:
    """Answer one request to a non-control path (faults included); logs and records it."""
    started = time.monotonic()
    network = emu.latency_ms / 2000.0
    if network:
        time.sleep(network)  # the request travelling
    with emu.lock:
        number = emu.log.next_number()
        banned = emu.limiter.ban_remaining()
        fault = None if banned else emu.faults.decide(number)
        latency = emu.faults.config.latency_ms / 1000.0
        status_if_5xx = emu.faults.server_error_status() if fault == "5xx" else 0
        retry_after = emu.faults.retry_after() if fault == "429" else 0.0
    if fault == "latency":
        time.sleep(latency)
    if banned:
        out = Outcome(429, L.BAN_BODY, {"Retry-After": str(math.ceil(banned))}, fault="ban", record=False,
                      content_type="text/plain; charset=UTF-8")
    elif fault == "5xx":
        out = Outcome(status_if_5xx, {"message": SERVER_ERRORS[status_if_5xx], "code": 0},
                      fault=fault, record=False)
    elif fault == "drop":
        out = Outcome(0, None, fault=fault, drop=True, record=False)
    elif fault == "429":
        out = Outcome(429, {"message": "You are being rate limited.", "retry_after": retry_after, "global": False},
                      {"Retry-After": str(max(1, math.ceil(retry_after))), "X-RateLimit-Scope": "shared"},
                      fault=fault)
    else:
        with emu.lock:
            out = _answer(emu, method, raw_path, headers, body)
        out.fault = fault
        if fault == "drop-after":
            # Processed and kept; the client just never hears about it.
            out.drop, out.record = True, False
    if network:
        time.sleep(network)  # the answer travelling
    with emu.lock:
        if out.fault in (None, "latency", "drop-after"):
            before = emu.limiter.invalid_total
            emu.limiter.count_answer(out.status, out.headers.get("X-RateLimit-Scope"))
            emu.log.counts["invalid_requests"] += emu.limiter.invalid_total - before
        elif out.fault == "ban":
            emu.log.counts["banned"] += 1
        emu.log.account(number, method, raw_path, out, started)
        if emu.recorder is not None:
            emu.recorder.record(method, raw_path, headers, body, out)
    return out


def _answer(emu: Emulator, method: str, raw_path: str, headers: dict[str, str], body: bytes) -> Outcome:
    split = urlsplit(raw_path)
    if not split.path.startswith(API_PREFIX + "/"):
        return error_outcome(E.route_not_found())
    found = match(split.path[len(API_PREFIX):])
    if found is None:
        return error_outcome(E.route_not_found())
    template, params = found
    handler = ROUTES[template].get(method)
    if handler is None:
        out = error_outcome(E.method_not_allowed())
        out.route = template
        return out
    out = _answer_route(emu, method, template, params, split.query, headers, body, handler)
    out.route = template
    return out


def _answer_route(emu: Emulator, method: str, template: str, params: dict[str, str], query: str,
                  headers: dict[str, str], body: bytes, handler: Handler) -> Outcome:
    token_key: str | None = None
    if template != WEBHOOK_EXECUTE:
        if headers.get("authorization") != f"Bot {emu.token}":
            return error_outcome(E.unauthorized())
        token_key = "bot"
    fields = _body_fields(body) if (method, template) == NAME_TOPIC_ROUTE else ()
    hook = emu.state.webhooks.by_id.get(params.get("webhook_id", "")) if template == WEBHOOK_EXECUTE else None
    decision = emu.limiter.check(method, template, major_id(template, params), token_key, fields,
                                 channel=hook.channel_id if hook is not None and method == "POST" else None)
    if not decision.allowed:
        emu.log.counts["rate_limited"] += 1
        if decision.is_global:
            emu.log.counts["global_rate_limited"] += 1
        return Outcome(429, {"message": "You are being rate limited.", "retry_after": decision.retry_after,
                             "global": decision.is_global}, dict(decision.headers))
    rl_headers = dict(decision.headers)
    try:
        for name, value in params.items():
            if name.endswith("_id"):
                number = parse_snowflake(value)
                if number is None or str(number) != value:
                    raise E.form_error((name,), "NUMBER_TYPE_COERCE", f'Value "{shown(value)}" is not snowflake.')
        if "guild_id" in params and params["guild_id"] != emu.guild_id:
            raise E.unknown(E.UNKNOWN_GUILD)
        parsed = _parse_body(method, headers, body)
        query_args = dict(parse_qsl(query, keep_blank_values=True))
        reply = handler(Call(emu.state, params, query_args, parsed, emu.base_url, headers))
        if reply.status < 300:
            emu.state.audit.record(method, template, params, reply.body, audit_reason(headers))
    except ApiError as exc:
        out = error_outcome(exc)
    else:
        out = Outcome(reply.status, reply.body)
    finally:
        emu.save_if_changed()
    out.headers.update(rl_headers)
    return out


def _parse_body(method: str, headers: dict[str, str], body: bytes) -> Any:
    if method not in ("POST", "PATCH", "PUT") or not body.strip():
        return None
    ctype = headers.get("content-type", "").split(";")[0].strip().lower()
    if ctype == "multipart/form-data":
        try:
            return parse_multipart(headers.get("content-type", ""), body)
        except MultipartError as exc:
            raise E.form_error((), "CONTENT_TYPE_INVALID", str(exc)) from None
    if ctype != "application/json":
        raise E.form_error((), "CONTENT_TYPE_INVALID", 'Expected "Content-Type" header to be "application/json".')
    try:
        return json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError):
        raise ApiError(400, E.INVALID_JSON, "The request body contains invalid JSON.") from None


def _body_fields(body: bytes) -> tuple[str, ...]:
    """Top-level keys of a JSON object body (empty for anything else); never raises."""
    try:
        data = json.loads(body.decode("utf-8")) if body.strip() else None
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError):
        return ()
    return tuple(data) if isinstance(data, dict) else ()
