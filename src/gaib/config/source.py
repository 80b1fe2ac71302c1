"""Reading YAML into plain data while remembering where every value came from.

:func:`parse_yaml` turns bytes into a :class:`Document`: the data (dicts, lists, scalars) plus a
map from each path (``("roles", 2, "color")``) to its 1-based line, so any later error can name
``file:line``. It never raises anything but :class:`ConfigError`, and refuses: files over
``MAX_BYTES``, text that is not UTF-8, YAML syntax errors, several documents, an empty file,
a top level that is not a mapping, duplicate keys, non-scalar keys, unsafe tags, and alias
expansions past ``MAX_NODES`` values or ``MAX_DEPTH`` levels ("billion laughs").

String scalars (and keys) go through an optional ``interpolate`` callback: the environment for
``discord-server.yaml``, theme variables for a theme's ``server.yaml`` (see gaib.config.interpolate).
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gaib.errors import ConfigError, ConfigNotFound

MAX_BYTES = 4 * 1024 * 1024
MAX_NODES = 200_000
MAX_DEPTH = 64

PathT = tuple[str | int, ...]
Interpolator = Callable[[str], Any]
"""Maps a string scalar to its value; raises ValueError with a message when it cannot."""

_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_-]*")
_STR_TAG = "tag:yaml.org,2002:str"
_MERGE_TAG = "tag:yaml.org,2002:merge"
_COLLECTION_TAGS = ("tag:yaml.org,2002:map", "tag:yaml.org,2002:seq")


def format_path(path: PathT) -> str:
    """``("channels", 0, "permissions", "@everyone")`` → ``channels[0].permissions["@everyone"]``."""
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        elif _IDENT.fullmatch(part):
            out += f".{part}" if out else part
        else:
            out += f"[{json.dumps(part, ensure_ascii=False)}]"
    return out


@dataclass(frozen=True)
class Problem:
    """One error or warning, located."""

    file: str
    line: int | None
    path: str
    message: str

    def __str__(self) -> str:
        loc = f"{self.file}:{self.line}" if self.line is not None else self.file
        return f"{loc}: {self.path}: {self.message}" if self.path else f"{loc}: {self.message}"

    def to_dict(self) -> dict[str, Any]:
        return {"file": self.file, "line": self.line, "path": self.path, "message": self.message}


@dataclass
class Document:
    """Parsed YAML with a line for every path.

    ``unresolved`` lists the strings kept as written because a ``${...}`` in them had no value
    (their readers decide whether that is an error or a warning); ``warnings`` collects what readers
    found worth a warning but not a failure (unknown keys, empty file).
    """

    filename: str
    data: dict[str, Any]
    lines: dict[PathT, int] = field(default_factory=dict)
    unresolved: list[Problem] = field(default_factory=list)
    warnings: list[Problem] = field(default_factory=list)

    def line_of(self, path: PathT) -> int:
        """The line of ``path`` or of its nearest ancestor that has one (1 for the root)."""
        for end in range(len(path), -1, -1):
            line = self.lines.get(tuple(path[:end]))
            if line is not None:
                return line
        return 1

    def where(self, path: PathT) -> str:
        return f"{self.filename}:{self.line_of(path)}"


MAX_SHOWN = 20


def raise_problems(problems: list[Problem], hint: str | None = None) -> None:
    """Raise one ConfigError listing ``problems`` (the first on the first line); no-op if empty."""
    if not problems:
        return
    shown = [str(p) for p in problems[:MAX_SHOWN]]
    if len(problems) > MAX_SHOWN:
        shown.append(f"... and {len(problems) - MAX_SHOWN} more")
    raise ConfigError("\n".join(shown), hint=hint,
                      details={"errors": [p.to_dict() for p in problems[:100]]})


def _fail(filename: str, line: int | None, message: str, path: PathT = ()) -> ConfigError:
    problem = Problem(filename, line, format_path(path), message)
    return ConfigError(str(problem), details={"errors": [problem.to_dict()]})


def read_file(path: Path, *, display: str | None = None) -> tuple[str, bytes]:
    """Read a config file's bytes (at most MAX_BYTES); ConfigNotFound / ConfigError otherwise."""
    name = display or str(path)
    try:
        with path.open("rb") as fh:
            size = os.fstat(fh.fileno()).st_size
            if size > MAX_BYTES:
                raise _fail(name, 1, _too_big(size))
            raw = fh.read(MAX_BYTES + 1)
    except FileNotFoundError:
        raise ConfigNotFound(f"{name}: no such file") from None
    except IsADirectoryError:
        raise ConfigError(f"{name}: is a directory, not a YAML file") from None
    except OSError as err:
        raise ConfigError(f"{name}: cannot be read ({err.strerror or type(err).__name__})") from None
    return name, raw


def parse_yaml(raw: bytes | str, filename: str, interpolate: Interpolator | None = None, *,
               allow_empty: bool = False, skip_keys: frozenset[str] = frozenset(),
               list_key: str | None = None) -> Document:
    """Parse one YAML document whose top level is a mapping; see the module doc for what is refused.

    With ``allow_empty`` an empty or comment-only file is an empty mapping. Top-level keys in
    ``skip_keys`` are left out unread (no interpolation): the settings part of a ``gaib.yaml`` read
    as a config. With ``list_key`` a top-level list is read as ``{list_key: [...]}`` (a theme's
    ``roles.yaml`` may be a bare list).
    """
    import yaml

    if isinstance(raw, str):
        raw = raw.encode("utf-8")
    if len(raw) > MAX_BYTES:
        raise _fail(filename, 1, _too_big(len(raw)))
    text = _decode(raw, filename)
    loader, node = _fast_compose(text)
    if loader is None:  # no libyaml, or the document has a problem: PyYAML's own parser names it
        loader, node = _compose(yaml, text, filename)
    if node is None:
        if allow_empty:
            return Document(filename, {})
        raise _fail(filename, 1, "the file is empty; expected a mapping (version, roles, categories, channels)")
    walker = _Walker(filename, loader, interpolate, skip_keys)
    if list_key is not None and isinstance(node, yaml.SequenceNode):
        walker.lines[(list_key,)] = node.start_mark.line + 1
        items = walker.value(node, (list_key,), 1)
        return Document(filename, {list_key: items}, walker.lines, unresolved=walker.unresolved)
    if not isinstance(node, yaml.MappingNode):
        raise _fail(filename, node.start_mark.line + 1,
                    f"expected a mapping at the top level, found {_node_kind(node)}")
    data = walker.value(node, (), 0)
    assert isinstance(data, dict)
    return Document(filename, data, walker.lines, unresolved=walker.unresolved)


def _compose(yaml: Any, text: str, filename: str) -> tuple[Any, Any]:
    """(loader, node) of ``text`` by PyYAML's pure-Python loader; ConfigError naming the problem."""
    loader: Any = None
    try:
        loader = yaml.SafeLoader(text)
        return loader, loader.get_single_node()
    except yaml.MarkedYAMLError as err:
        mark = err.problem_mark or err.context_mark
        line = mark.line + 1 if mark is not None else None
        what = err.problem or err.context or "invalid YAML"
        raise _fail(filename, line, f"YAML syntax error: {what}") from None
    except yaml.reader.ReaderError as err:
        line = text[: err.position].count("\n") + 1
        raise _fail(filename, line, f"unreadable character {err.character!r} (not allowed in YAML)") from None
    except yaml.YAMLError as err:
        raise _fail(filename, None, f"YAML error: {err}") from None
    except RecursionError:
        raise _fail(filename, None, f"nesting is deeper than {MAX_DEPTH} levels") from None
    finally:
        if loader is not None:
            loader.dispose()


_FAST_LOADER: list[Any] = []


def _fast_loader() -> Any:
    """A loader whose events come from libyaml (PyYAML's C parser: scanning and parsing a large config
    is most of its loading time) and whose nodes are composed by PyYAML's own composer, so nesting
    still meets Python's recursion limit; None when PyYAML was built without libyaml."""
    if not _FAST_LOADER:
        import yaml

        try:
            from yaml._yaml import CParser
        except ImportError:
            _FAST_LOADER.append(None)
        else:
            class FastLoader(yaml.composer.Composer, CParser, yaml.constructor.SafeConstructor,
                             yaml.resolver.Resolver):
                def __init__(self, stream: str) -> None:
                    CParser.__init__(self, stream)
                    yaml.composer.Composer.__init__(self)
                    yaml.constructor.SafeConstructor.__init__(self)
                    yaml.resolver.Resolver.__init__(self)

            _FAST_LOADER.append(FastLoader)
    return _FAST_LOADER[0]


#: What libyaml and PyYAML's own scanner read differently (a tab, a byte order mark or a line separator
#: inside the text, a ``?`` in a flow collection, some tags, a comment glued to a block scalar's
#: header): a text holding any is read by PyYAML alone (found by comparing the two on thousands of
#: mutated documents).
_PYYAML_ONLY = re.compile("[\t\ufeff\u2028\u2029\x85?!]|[|>]#")


def _fast_compose(text: str) -> tuple[Any, Any]:
    """(loader, node) of ``text`` through :func:`_fast_loader`; (None, None) when there is no libyaml,
    when the text holds a character the two parsers read differently, or when anything goes wrong (the
    pure-Python loader then reads the text again and reports the problem exactly as it always has).
    Either way the result is what PyYAML's own loader gives."""
    cls = _fast_loader()
    if cls is None or _PYYAML_ONLY.search(text):
        return None, None
    loader: Any = None
    try:
        loader = cls(text)
        return loader, loader.get_single_node()
    except Exception:  # YAMLError, RecursionError...: the slow path decides and explains
        return None, None
    finally:
        if loader is not None:
            loader.dispose()


def _too_big(size: int) -> str:
    return f"the file is {size / 1048576:.1f} MB; a config may be at most {MAX_BYTES // 1048576} MB"


def _decode(raw: bytes, filename: str) -> str:
    if raw.startswith(b"\xef\xbb\xbf"):
        raw = raw[3:]
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as err:
        line = raw[: err.start].count(b"\n") + 1
        raise _fail(filename, line, f"not UTF-8 text (byte 0x{raw[err.start]:02x} at offset {err.start}); "
                                    "is this a binary file?") from None
    if "\x00" in text:
        line = text[: text.index("\x00")].count("\n") + 1
        raise _fail(filename, line, "contains a NUL byte; is this a binary file?")
    return text


def _node_kind(node: Any) -> str:
    import yaml

    if isinstance(node, yaml.SequenceNode):
        return "a list"
    if isinstance(node, yaml.MappingNode):
        return "a mapping"
    return f"a scalar ({str(node.value)[:40]!r})"


class _Walker:
    """Builds plain data from a composed node tree, recording lines and interpolating strings."""

    def __init__(self, filename: str, loader: Any, interpolate: Interpolator | None,
                 skip_keys: frozenset[str] = frozenset()) -> None:
        self.filename = filename
        self.loader = loader
        self.interpolate = interpolate
        self.skip_keys = skip_keys
        self.lines: dict[PathT, int] = {}
        self.unresolved: list[Problem] = []
        self.count = 0

    def value(self, node: Any, path: PathT, depth: int) -> Any:
        import yaml

        self.count += 1
        if self.count > MAX_NODES:
            raise _fail(self.filename, node.start_mark.line + 1,
                        f"the document expands to more than {MAX_NODES} values (alias bomb?)", path)
        if depth > MAX_DEPTH:
            raise _fail(self.filename, node.start_mark.line + 1, f"nesting is deeper than {MAX_DEPTH} levels",
                        path)
        if isinstance(node, yaml.MappingNode | yaml.SequenceNode) and node.tag not in _COLLECTION_TAGS:
            raise _fail(self.filename, node.start_mark.line + 1, f"unsupported YAML tag {node.tag!r}", path)
        if isinstance(node, yaml.MappingNode):
            return self._mapping(node, path, depth)
        if isinstance(node, yaml.SequenceNode):
            items = []
            for index, item in enumerate(node.value):
                self.lines.setdefault((*path, index), item.start_mark.line + 1)
                items.append(self.value(item, (*path, index), depth + 1))
            return items
        return self._scalar(node, path)

    def _mapping(self, node: Any, path: PathT, depth: int) -> dict[str, Any]:
        import yaml

        try:
            self.loader.flatten_mapping(node)  # resolves `<<: *anchor` merge keys
        except yaml.MarkedYAMLError as err:
            mark = err.problem_mark or node.start_mark
            raise _fail(self.filename, mark.line + 1, f"bad merge key: {err.problem}", path) from None
        out: dict[str, Any] = {}
        first_line: dict[str, int] = {}
        for key_node, value_node in node.value:
            line = key_node.start_mark.line + 1
            if not isinstance(key_node, yaml.ScalarNode) or key_node.tag == _MERGE_TAG:
                raise _fail(self.filename, line, "mapping keys must be plain text", path)
            key = str(key_node.value)
            if not path and key in self.skip_keys:
                continue
            if key_node.tag == _STR_TAG and self.interpolate is not None and "$" in key:
                key = str(self._interp(key, line, path))
            if key in first_line:
                raise _fail(self.filename, line, f"duplicate key {key!r} (first given on line {first_line[key]})",
                            path)
            first_line[key] = line
            self.lines[(*path, key)] = line
            out[key] = self.value(value_node, (*path, key), depth + 1)
        return out

    def _scalar(self, node: Any, path: PathT) -> Any:
        import yaml

        line = node.start_mark.line + 1
        if node.tag == _STR_TAG:
            text = str(node.value)
            if self.interpolate is not None and "$" in text:
                return self._interp(text, line, path)
            return text
        try:
            return self.loader.construct_object(node, deep=True)
        except yaml.YAMLError as err:
            problem = getattr(err, "problem", None) or str(err)
            raise _fail(self.filename, line, f"cannot read value: {problem}", path) from None
        except (ValueError, OverflowError) as err:
            raise _fail(self.filename, line, f"cannot read value: {err}", path) from None

    def _interp(self, text: str, line: int, path: PathT) -> Any:
        assert self.interpolate is not None
        try:
            value = self.interpolate(text)
        except ValueError as err:
            raise _fail(self.filename, line, str(err), path) from None
        kept = getattr(self.interpolate, "kept", None)
        if kept:  # references kept as written; the reader decides how loud that is
            self.unresolved.extend(Problem(self.filename, line, format_path(path), str(e)) for e in kept)
            kept.clear()
        return value
