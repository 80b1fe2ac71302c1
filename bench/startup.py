"""Start-up cost: ``gaib --help`` and ``gaib server workspace ls`` beside bare ``python -c pass``.

Target (issue 2): ``gaib --help`` within 10x of bare Python start-up.
"""

from __future__ import annotations

import sys
import tempfile

from bench.common import Report, ms, time_command

REPEAT = 15


def run() -> Report:
    py = sys.executable
    with tempfile.TemporaryDirectory() as tmp:
        bare = time_command([py, "-c", "pass"], REPEAT)
        help_ = time_command([py, "-m", "gaib", "--help"], REPEAT, cwd=tmp)
        ls = time_command([py, "-m", "gaib", "server", "workspace", "ls"], REPEAT, cwd=tmp)
        mods = time_command([py, "-c", "import gaib.cli.app, sys; "
                             "assert not {'boto3','httpx','pydantic','rich','yaml'} & set(sys.modules)"],
                            3, cwd=tmp)
    report = Report(f"start-up (median of {REPEAT} runs)", ["command", "median", "x bare python", "target"])
    report.rows.append(["python -c pass", ms(bare), "1.0x", ""])
    report.rows.append(["gaib --help", ms(help_), f"{help_ / bare:.1f}x", "<= 10x"])
    report.rows.append(["gaib server workspace ls", ms(ls), f"{ls / bare:.1f}x", ""])
    report.notes.append(f"importing gaib.cli.app loads none of boto3/httpx/pydantic/rich/yaml (checked, {ms(mods)})")
    return report
