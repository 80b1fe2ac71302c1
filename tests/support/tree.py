"""A fingerprint of a folder tree: equal fingerprints before and after a command prove it wrote nothing."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path


def fingerprint(root: Path) -> dict[str, str]:
    """Every file and folder under ``root`` with its content hash: equal fingerprints, nothing written."""
    out: dict[str, str] = {}
    for dirpath, _dirnames, filenames in os.walk(root):
        rel = os.path.relpath(dirpath, root)
        out[rel + "/"] = "dir"
        for name in filenames:
            path = os.path.join(dirpath, name)
            with open(path, "rb") as fh:
                out[os.path.join(rel, name)] = hashlib.sha256(fh.read()).hexdigest()
    return out
