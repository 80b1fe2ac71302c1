"""Memory per bundle: ``snapshot download`` of the bundle of issue 21 — 18 parts of 200 MiB plain each (3.6 GiB),
about 3.6 MB stored (highly compressible message lines) — in a fresh ``python -m gaib`` process, measuring its
peak RSS (``ru_maxrss``), the bytes it wrote and its wall time.

Cases, on the local store and on S3 + DynamoDB (moto's server on 127.0.0.1):

* the default ceiling (``GAIB_MAX_BUNDLE_BYTES``, 1 GiB): the claim is over it, refused before anything is read;
* a ceiling of 4 GiB: every part streamed from storage to its file, 3.6 GiB written;
* a manifest that lies (claims 1 MiB per part, each really holds 200 MiB): refused as the first part passes
  its claim, nothing left in the folder.

Target (issue 21, item 5): under 300 MB peak RSS in every case and nothing written past the ceiling; ``main``
before the fix peaked at 3.9 GB on the 4 GiB case's download. The bundle is written past Gaib's writer (which
takes whole parts): each part's stored bytes are made once, block by block, and the manifest sealed over them.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import zlib
from pathlib import Path
from typing import Any

from bench.common import Report, environ_set, moto_environ

ROOT = Path(__file__).resolve().parent.parent
GUILD = "223456789012345678"
PARTS = 18
PART_PLAIN = 200 * 1024 * 1024
TARGET_MB = 300
STORED = [0]  # the stored bytes of the 18 parts, for the report
LINE = b'{"id": "1300000000000000001", "author": {"id": "1"}, "content": "' + b"~" * 8000 + b'"}\n'
DRIVER = ("import json, resource, sys\n"
          "from gaib.cli.app import main\n"
          "code = main(sys.argv[1:])\n"
          "print(json.dumps({'code': code, 'maxrss_kib': resource.getrusage(resource.RUSAGE_SELF).ru_maxrss}),"
          " file=sys.stderr)\n")


def _part() -> tuple[bytes, str]:
    """The stored (gzip) bytes of one 200 MiB part and the sha256 of its plain bytes, made block by block."""
    comp = zlib.compressobj(6, zlib.DEFLATED, 31)
    block = LINE * (1024 * 1024 // len(LINE))
    plain_sha, size, out = hashlib.sha256(), 0, []
    while size < PART_PLAIN:
        piece = block[:PART_PLAIN - size]
        plain_sha.update(piece)
        out.append(comp.compress(piece))
        size += len(piece)
    out.append(comp.flush())
    return b"".join(out), plain_sha.hexdigest()


def _write_bundle(environ: dict[str, str], project: Path, *, lie: bool) -> str:
    """Store the 18-part snapshot (``lie``: its manifest claims 1 MiB per part) and return its id."""
    from datetime import UTC, datetime

    from gaib.bundles.manifest import Manifest, Part, seal
    from gaib.cli.context import Env
    from gaib.settings import Settings
    from gaib.snapshots.store import layout
    from gaib.storage.keys import SEQUENCE_SK, new_id
    from gaib.wiring import App

    stored, plain_sha = _part()
    STORED[0] = len(stored) * PARTS
    app = App(Settings.resolve(Env(environ=environ, cwd=project)))
    ident = new_id(datetime.now(UTC))
    base = {"state": b"null\n", "config": b"roles: []\n",
            "objects": b'{"version": 1, "serial": 0, "lineage": "snapshot-objects", "resources": []}\n',
            "theme-registry": b'{"format_version": 1, "current": null, "history": []}\n'}
    names = [*base, *(f"messages/{1300000000000000000 + n}" for n in range(PARTS))]
    where = layout(GUILD, ident, names)
    parts = {}
    for name in names:
        if name in base:
            data = _gzip(base[name])
            parts[name] = Part(where.part_keys[name], "gzip", len(base[name]), len(data),
                               hashlib.sha256(base[name]).hexdigest(), hashlib.sha256(data).hexdigest())
        else:
            data = stored
            parts[name] = Part(where.part_keys[name], "gzip", 1024 * 1024 if lie else PART_PLAIN, len(stored),
                               plain_sha, hashlib.sha256(stored).hexdigest())
        app.store.put(where.part_keys[name], data)
    manifest = seal(Manifest(kind="snapshot", id=ident, server_id=GUILD, workspace="default",
                             created_at=datetime.now(UTC).isoformat().replace("+00:00", "Z"), trigger="on-demand",
                             tier="free", message="issue 21's bundle", serial=None, lineage=None, parts=parts))
    assert where.manifest_key is not None
    app.store.put(where.manifest_key, manifest.to_json())
    app.catalog.put_sequenced(where.pk, where.sk, manifest.to_dict(), counter_sk=SEQUENCE_SK)
    app.close()
    return ident


def _gzip(plain: bytes) -> bytes:
    comp = zlib.compressobj(6, zlib.DEFLATED, 31)
    return comp.compress(plain) + comp.flush()


def _download(environ: dict[str, str], project: Path, ident: str, ceiling: str | None) -> dict[str, Any]:
    out = project / "out"
    env = {**environ, "PYTHONPATH": str(ROOT / "src"), "DISCORD_GUILD_ID": GUILD}
    if ceiling is not None:
        env["GAIB_MAX_BUNDLE_BYTES"] = ceiling
    started = time.perf_counter()
    done = subprocess.run([sys.executable, "-c", DRIVER, "server", "snapshot", "download", ident, "-o", "out",
                           "--force", "--json"], cwd=project, env=env, capture_output=True, text=True, timeout=1800)
    seconds = time.perf_counter() - started
    stats = json.loads(done.stderr.strip().splitlines()[-1])
    written = sum(p.stat().st_size for p in out.rglob("*") if p.is_file()) if out.exists() else 0
    code = json.loads(done.stdout)["error"]["code"] if stats["code"] else "ok"
    shutil.rmtree(out, ignore_errors=True)
    return {"code": code, "rss_mb": stats["maxrss_kib"] / 1024, "written": written, "seconds": seconds}


def _storage(label: str, environ: dict[str, str], report: Report) -> None:
    for lie in (False, True):
        project = Path(tempfile.mkdtemp(prefix="gaib-bench-memory-"))
        try:
            ident = _write_bundle(environ, project, lie=lie)
            cases = [("lying manifest (1 MiB claimed per part)", "4GiB")] if lie else \
                [("default ceiling (1 GiB)", None), ("ceiling 4 GiB", "4GiB")]
            for case, ceiling in cases:
                got = _download(environ, project, ident, ceiling)
                report.rows.append([label, case, got["code"], f"{got['written'] / 1024**3:.2f} GiB",
                                    f"{got['rss_mb']:.0f} MB", f"{got['seconds']:.1f} s",
                                    "yes" if got["rss_mb"] < TARGET_MB else "NO"])
        finally:
            shutil.rmtree(project, ignore_errors=True)


def run() -> Report:
    sys.path.insert(0, str(ROOT))  # tests.support (moto_server) when run outside bench/run.py
    from tests.support.procs import moto_server

    report = Report(f"snapshot download of {PARTS} parts x 200 MiB plain (issue 21): peak RSS per process",
                    ["storage", "case", "outcome", "written", "peak RSS", "time", f"< {TARGET_MB} MB"])
    base = {k: v for k, v in os.environ.items() if not k.startswith(("GAIB_", "DISCORD_", "AWS_"))}
    _storage("local", base, report)
    with moto_server() as url:
        aws = {**base, **moto_environ(url), "GAIB_BACKUP_BUCKET": "gaib-bench-memory",
               "GAIB_BACKUP_TABLE": "gaib-bench-memory"}
        with environ_set(moto_environ(url)):
            from gaib.storage.aws import ensure_bucket, ensure_table

            ensure_bucket("gaib-bench-memory")
            ensure_table("gaib-bench-memory")
            _storage("aws (moto)", aws, report)
    report.notes.append(f"stored: {STORED[0] / 1e6:.1f} MB for {PARTS * PART_PLAIN / 1e9:.2f} GB plain (gzip of "
                        "8 KB message lines of one repeated character); the default ceiling refuses the claim "
                        "before a byte is read, 4 GiB lets it stream through")
    report.notes.append("written counts what is left in the folder: a refused download leaves nothing")
    return report
