"""Semantic versions (``MAJOR.MINOR.PATCH[-pre][+build]``) and the version ranges themes accept.

Ranges: an exact version (``1.2.3`` or ``=1.2.3``), a caret range (``^1.2`` — same major, at
least 1.2.0; for ``^0.x`` the minor is fixed), a tilde range (``~1.2`` — same major and minor,
at least 1.2.0), a partial version (``1``, ``1.2`` — any version with those leading parts) and
``*`` (anything). Pre-releases match only when the range names that exact pre-release.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_NUM = r"(0|[1-9][0-9]{0,8})"
_IDENT = r"[0-9A-Za-z-]+"
_VERSION = re.compile(
    rf"{_NUM}\.{_NUM}\.{_NUM}(?:-({_IDENT}(?:\.{_IDENT})*))?(?:\+({_IDENT}(?:\.{_IDENT})*))?")
_PARTIAL = re.compile(rf"{_NUM}(?:\.{_NUM}(?:\.{_NUM}(?:-({_IDENT}(?:\.{_IDENT})*))?)?)?")


@dataclass(frozen=True, order=False)
class Version:
    major: int
    minor: int
    patch: int
    prerelease: tuple[str, ...] = ()

    def key(self) -> tuple[int, int, int, int, tuple[tuple[int, int | str], ...]]:
        """Sort key in semver precedence: a pre-release sorts before its release."""
        pre = tuple((0, int(p)) if p.isdigit() else (1, p) for p in self.prerelease)
        return (self.major, self.minor, self.patch, 0 if self.prerelease else 1, pre)

    def __lt__(self, other: Version) -> bool:
        return self.key() < other.key()

    def __le__(self, other: Version) -> bool:
        return self.key() <= other.key()

    def __str__(self) -> str:
        base = f"{self.major}.{self.minor}.{self.patch}"
        return base + ("-" + ".".join(self.prerelease) if self.prerelease else "")


def parse_version(text: str) -> Version:
    """Parse a full semantic version; raises ValueError naming the expected form."""
    m = _VERSION.fullmatch(text.strip()) if isinstance(text, str) else None
    if m is None:
        raise ValueError(f"invalid version {text!r}; expected a semantic version like \"1.2.0\"")
    pre = tuple(m.group(4).split(".")) if m.group(4) else ()
    return Version(int(m.group(1)), int(m.group(2)), int(m.group(3)), pre)


@dataclass(frozen=True)
class VersionRange:
    text: str
    low: Version | None  # inclusive
    high: Version | None  # exclusive
    exact: Version | None = None

    def matches(self, version: Version) -> bool:
        if self.exact is not None:
            return version == self.exact
        if version.prerelease:
            return False
        if self.low is not None and version < self.low:
            return False
        return not (self.high is not None and not version < self.high)

    def __str__(self) -> str:
        return self.text


def parse_range(text: str) -> VersionRange:
    """Parse a version range (see the module doc); raises ValueError for anything else."""
    if not isinstance(text, str):
        raise ValueError(f"invalid version range {text!r}")
    raw = text.strip()
    if raw in ("*", "x", ""):
        return VersionRange(raw or "*", None, None)
    op = raw[0] if raw[0] in "^~=" else ""
    body = raw[len(op):].strip()
    m = _PARTIAL.fullmatch(body)
    if m is None:
        raise ValueError(
            f"invalid version range {text!r}; use an exact version (1.2.0), ^1.2, ~1.2, 1.x-style "
            "partial versions (1 or 1.2) or *")
    major = int(m.group(1))
    minor = int(m.group(2)) if m.group(2) is not None else None
    patch = int(m.group(3)) if m.group(3) is not None else None
    pre = tuple(m.group(4).split(".")) if m.group(4) else ()
    low = Version(major, minor or 0, patch or 0)
    if op == "=" or (op == "" and patch is not None):
        if patch is None:
            raise ValueError(f"invalid version range {text!r}; an exact version needs all three parts")
        exact = Version(major, minor or 0, patch, pre)
        return VersionRange(raw, exact, None, exact)
    if pre:
        raise ValueError(f"invalid version range {text!r}; pre-releases can only be pinned exactly")
    if op == "^":
        if major > 0 or minor is None:
            high = Version(major + 1, 0, 0)
        elif minor > 0 or patch is None:
            high = Version(0, minor + 1, 0)
        else:
            high = Version(0, 0, (patch or 0) + 1)
    elif op == "~" or minor is not None:
        high = Version(major, (minor or 0) + 1, 0) if minor is not None else Version(major + 1, 0, 0)
    else:
        high = Version(major + 1, 0, 0)
    return VersionRange(raw, low, high)
