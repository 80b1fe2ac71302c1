"""``python -m gaib.emulator``: run the Discord REST emulator until interrupted.

The first line on stdout is the base URL (``http://127.0.0.1:PORT/api/v10``), flushed at once;
nothing else is written to stdout. ``--rate-limits discord`` (the default) enforces the limits of
:mod:`gaib.emulator.ratelimit`; ``--latency-ms`` adds a network round trip to every request (0 for
unit tests, 150 in the benchmarks); ``--caps-used role_creates=240`` starts the guild with part of a
long window already spent. Errors go to stderr with exit code 2 (bad settings or data file)
or 1 (cannot listen). The token comes from ``--token`` or ``DISCORD_BOT_TOKEN`` and is never printed.
"""

from __future__ import annotations

import argparse
import signal
import sys
from types import FrameType

from gaib.emulator.faults import DEFAULT_LATENCY_MS, FaultConfig, FaultConfigError
from gaib.emulator.server import DEFAULT_GUILD_ID, DEFAULT_GUILD_NAME, Emulator, EmulatorConfigError
from gaib.settings import process_environ


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m gaib.emulator", description="Local Discord REST API emulator.")
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    p.add_argument("--port", type=int, default=0, help="port (0 picks a free one; default 0)")
    p.add_argument("--guild-id", default=DEFAULT_GUILD_ID, help="the guild's snowflake id")
    p.add_argument("--guild-name", default=DEFAULT_GUILD_NAME)
    p.add_argument("--token", default=None, help="bot token to accept (default: $DISCORD_BOT_TOKEN)")
    p.add_argument("--record", metavar="FILE", help="append every exchange as JSON Lines (tokens redacted)")
    p.add_argument("--data", metavar="FILE", help="load the guild from FILE and save it after each change")
    p.add_argument("--rate-limits", choices=("discord", "off"), default="discord")
    p.add_argument("--fault-rate", type=float, default=0.0, help="probability of a fault per request")
    p.add_argument("--fault-kinds", default="5xx",
                   help="comma-separated: 5xx,latency,drop,drop-after,429 (default 5xx)")
    p.add_argument("--fault-on", default="", help="comma-separated request numbers to fault, e.g. 3,7")
    p.add_argument("--latency-ms", type=int, default=0,
                   help="network latency added to every request, in ms (default 0)")
    p.add_argument("--fault-latency-ms", type=int, default=DEFAULT_LATENCY_MS,
                   help=f"extra delay of a latency fault, in ms (default {DEFAULT_LATENCY_MS})")
    p.add_argument("--caps-used", default="", metavar="CAP=N,...",
                   help="start with long windows partly spent: role_creates=N, channel_creates=N, role_edits=N")
    p.add_argument("--no-members-intent", action="store_true",
                   help="the bot lacks the GUILD_MEMBERS intent: listing members answers 403 (code 50001)")
    p.add_argument("--seed", type=int, default=None, help="seed for fault injection")
    p.add_argument("--verbose", action="store_true", help="log each request to stderr (never the token)")
    return p


def _fail(message: str, code: int = 2) -> int:
    print(f"gaib.emulator: error: {message}", file=sys.stderr, flush=True)
    return code


def _caps(text: str) -> dict[str, int] | None:
    out: dict[str, int] = {}
    for item in (part.strip() for part in text.split(",")):
        if not item:
            continue
        name, sep, number = item.partition("=")
        if not sep or not number.strip().isdigit():
            return None
        out[name.strip()] = int(number)
    return out


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    token = args.token if args.token is not None else process_environ().get("DISCORD_BOT_TOKEN", "")
    if not token:
        return _fail("no bot token: pass --token or set DISCORD_BOT_TOKEN")
    try:
        on = frozenset(int(n) for n in args.fault_on.split(",") if n.strip())
        kinds = tuple(k.strip() for k in args.fault_kinds.split(",") if k.strip())
        faults = FaultConfig(rate=args.fault_rate, kinds=kinds, on_requests=on, latency_ms=args.fault_latency_ms)
    except ValueError as exc:  # FaultConfigError is a ValueError; so are bad numbers in --fault-on
        return _fail(str(exc) if isinstance(exc, FaultConfigError) else "--fault-on takes numbers like 3,7")
    caps = _caps(args.caps_used)
    if caps is None:
        return _fail("--caps-used takes CAP=N pairs such as role_creates=240,channel_creates=10")

    def log(line: str) -> None:
        print(line, file=sys.stderr, flush=True)

    try:
        emulator = Emulator(guild_id=args.guild_id, guild_name=args.guild_name, token=token, host=args.host,
                            port=args.port, rate_limits=args.rate_limits, record=args.record, data=args.data,
                            faults=faults, seed=args.seed, log_requests=log if args.verbose else None,
                            latency_ms=args.latency_ms, caps_used=caps,
                            members_intent=not args.no_members_intent)
    except EmulatorConfigError as exc:
        return _fail(str(exc))
    try:
        url = emulator.bind()
    except OSError as exc:
        return _fail(f"cannot listen on {args.host}:{args.port}: {exc.strerror or exc}", 1)

    def on_term(signum: int, frame: FrameType | None) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, on_term)
    print(url, flush=True)
    try:
        emulator.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        emulator.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
