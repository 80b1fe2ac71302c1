"""Start-up cost: ``gaib --help``, ``gaib server workspace ls`` and ``gaib server backup list`` (on an
empty local store) beside bare ``python -c pass``.

Targets (issues 2 and 8): ``gaib --help`` and ``gaib server backup list`` within 10x of bare Python
start-up; a local ``backup list`` loads no boto3, httpx or adapter it does not use.
"""

from __future__ import annotations

import sys
import tempfile

from bench.common import Report, ms, time_command

REPEAT = 15


def _env() -> dict[str, str]:
    """The process environment without Gaib's or AWS's settings, so the local store is used."""
    from gaib.settings import process_environ

    return {k: v for k, v in process_environ().items() if not k.startswith(("GAIB_", "DISCORD_", "AWS_"))}


def run() -> Report:
    py = sys.executable
    with tempfile.TemporaryDirectory() as tmp:
        bare = time_command([py, "-c", "pass"], REPEAT)
        help_ = time_command([py, "-m", "gaib", "--help"], REPEAT, cwd=tmp)
        ls = time_command([py, "-m", "gaib", "server", "workspace", "ls"], REPEAT, cwd=tmp)
        backups = time_command([py, "-m", "gaib", "server", "backup", "list", "-g", "1100000000000000001"], REPEAT,
                               cwd=tmp, env=_env())
        mods = time_command([py, "-c", "import gaib.cli.app, sys; "
                             "assert not {'boto3','httpx','pydantic','rich','yaml'} & set(sys.modules)"],
                            3, cwd=tmp)
        local = time_command([py, "-c", "import sys; from gaib.cli.app import main; "
                              "code = main(['server', 'backup', 'list', '-g', '1100000000000000001']); "
                              "assert code == 0 and not {'boto3', 'httpx', 'gaib.discord.client', "
                              "'gaib.storage.s3', 'gaib.state.s3'} & set(sys.modules), sorted(sys.modules)"],
                             3, cwd=tmp, env=_env())
    report = Report(f"start-up (median of {REPEAT} runs)", ["command", "median", "x bare python", "target"])
    report.rows.append(["python -c pass", ms(bare), "1.0x", ""])
    report.rows.append(["gaib --help", ms(help_), f"{help_ / bare:.1f}x", "<= 10x"])
    report.rows.append(["gaib server workspace ls", ms(ls), f"{ls / bare:.1f}x", ""])
    report.rows.append(["gaib server backup list (local)", ms(backups), f"{backups / bare:.1f}x", "<= 10x"])
    report.notes.append(f"importing gaib.cli.app loads none of boto3/httpx/pydantic/rich/yaml (checked, {ms(mods)})")
    report.notes.append(f"a local 'backup list' loads neither boto3, httpx nor the S3/Discord adapters (checked, "
                        f"{ms(local)})")
    return report
