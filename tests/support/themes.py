"""Theme folders written for tests: ``make_theme`` (the ``town`` theme: a manifest with one variable of each
type and a body using them, or the given text) and ``write_theme`` (any files, dedented)."""

from __future__ import annotations

import textwrap
from pathlib import Path

MANIFEST = """\
name: {name}
version: "{version}"
description: test theme
variables:
  accent:
    type: color
    default: "#123456"
  guild:
    type: string
    required: true
    pattern: "[A-Z][a-z]+"
  slow:
    type: int
    default: 5
  adult:
    type: bool
    default: false
"""
BODY = """\
roles:
  - name: Staff
    color: "${accent}"
    permissions: [KICK_MEMBERS]
    hoist: true
  - name: Member
categories:
  - name: Hall
    permissions:
      "@everyone": {deny: [VIEW_CHANNEL]}
      Member: {allow: [VIEW_CHANNEL]}
      Staff: {allow: [VIEW_CHANNEL, MANAGE_MESSAGES]}
channels:
  - name: chat
    category: Hall
    topic: "Welcome to ${guild}! $${literal}"
    slowmode: ${slow}
    nsfw: ${adult}
  - name: rules
    category: Hall
"""


def make_theme(root: Path, name: str = "town", version: str = "1.2.0", body: str = BODY,
               manifest: str = MANIFEST) -> Path:
    d = root / name
    d.mkdir(parents=True)
    (d / "theme.yaml").write_text(manifest.format(name=name, version=version))
    (d / "server.yaml").write_text(body)
    return d


def write_theme(root: Path, name: str, files: dict[str, str]) -> Path:
    folder = root / name
    folder.mkdir(parents=True)
    for fname, text in files.items():
        (folder / fname).parent.mkdir(parents=True, exist_ok=True)
        (folder / fname).write_text(textwrap.dedent(text), encoding="utf-8")
    return folder
