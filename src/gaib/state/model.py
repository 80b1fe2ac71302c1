"""The state document: version, serial, lineage, workspace, guild id, resources, outputs.

The shape is Terraform's, and the files written by the original TypeScript Gaib
(``.gaib/workspaces/<ws>/terraform.tfstate``: ``version: 1``, integer ``serial``, a lineage like
``mkkwjaig-f82hi8dm``, ``resources[].instances[].attributes``, ``outputs``, ``lastModified``) load
unchanged. Unknown keys (top level, resource, instance and attribute) are kept and written back, so
nothing another writer added is lost.

Such a file is in the original's *dialect* (:attr:`State.dialect` ``"original"``: resources with
``provider: "discord"``, or an empty state without Gaib's ``guild_id``): in memory its attributes are
Gaib's (see :mod:`gaib.state.dialect`), and it is written back in the original's form, so the original
keeps reading it. Resource names are the original's display names (``discord_category.The Gathering``).
"""

from __future__ import annotations

import copy
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from gaib import safejson
from gaib.errors import InvalidName, StateError
from gaib.names import check_name, check_snowflake
from gaib.state import dialect as dialects

STATE_VERSION = 1
RESOURCE_TYPES = ("discord_role", "discord_category", "discord_channel")
PROVIDER = 'provider["registry.terraform.io/gaib/discord"]'
ORIGINAL_PROVIDER = "discord"
GAIB, ORIGINAL = "gaib", "original"
_KNOWN_ATTRIBUTES = {"id", "name", "permissions", "color", "hoist", "mentionable", "position", "type",
                     "permission_overwrites", "parent_id", "topic", "nsfw", "rate_limit_per_user", "bitrate",
                     "user_limit", "parent_name", "slowmode", "userLimit"}
_B36 = "0123456789abcdefghijklmnopqrstuvwxyz"


def _base36(n: int) -> str:
    out = ""
    while True:
        n, r = divmod(n, 36)
        out = _B36[r] + out
        if n == 0:
            return out


def new_lineage() -> str:
    """A lineage in the original Gaib's style: base36 milliseconds, '-', 8 random base36 chars."""
    import secrets  # only a new state needs it: reading one never loads it

    rand = "".join(secrets.choice(_B36) for _ in range(8))
    return f"{_base36(int(time.time() * 1000))}-{rand}"


@dataclass
class Instance:
    attributes: dict[str, Any]
    schema_version: int = 0
    extra: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {**self.extra, "schema_version": self.schema_version, "attributes": self.attributes}


@dataclass
class Resource:
    type: str
    name: str
    instances: list[Instance]
    provider: str = PROVIDER
    mode: str = "managed"
    extra: dict[str, Any] = field(default_factory=dict)
    has_mode: bool = True
    origin: dict[str, Any] | None = field(default=None, compare=False, repr=False)
    """The first instance as read from the file (kept so that a rewrite loses none of its keys)."""

    @property
    def address(self) -> str:
        return f"{self.type}.{self.name}"

    @property
    def attributes(self) -> dict[str, Any]:
        """Attributes of the first instance (Gaib resources have exactly one)."""
        return self.instances[0].attributes if self.instances else {}

    @property
    def id(self) -> str | None:
        value = self.attributes.get("id")
        return str(value) if value is not None else None

    def to_dict(self, dialect: str = GAIB, category_names: dict[str, str] | None = None) -> dict[str, Any]:
        """The resource as stored: Gaib's form, or the original's (``category_names``: id -> name)."""
        instances = [self._instance_dict(i, n, dialect, category_names or {}) for n, i in enumerate(self.instances)]
        if dialect == ORIGINAL:
            provider = ORIGINAL_PROVIDER if self.provider == PROVIDER else self.provider
            head = {"mode": self.mode} if self.has_mode else {}
            return {**self.extra, **head, "type": self.type, "name": self.name, "provider": provider,
                    "instances": instances}
        return {**self.extra, "mode": self.mode, "type": self.type, "name": self.name,
                "provider": self.provider, "instances": instances}

    def _instance_dict(self, inst: Instance, index: int, dialect: str,
                       category_names: dict[str, str]) -> dict[str, Any]:
        origin = self.origin if index == 0 and self.origin is not None else None
        same_object = origin is not None and \
            str(origin.get("attributes", {}).get("id")) == str(inst.attributes.get("id"))
        raw_attrs: dict[str, Any] = dict(origin.get("attributes", {})) if origin and same_object else {}
        attrs = dict(inst.attributes)
        for key, value in raw_attrs.items():  # keys neither tool knows survive a refresh of the attributes
            if key not in _KNOWN_ATTRIBUTES and key not in attrs:
                attrs[key] = value
        extra = inst.extra or ({k: v for k, v in origin.items() if k not in ("attributes", "schema_version")}
                               if origin and same_object else {})
        schema_version = inst.schema_version
        if dialect == ORIGINAL:
            attrs = dialects.to_original(self.type, attrs, raw_attrs or None, category_names)
            if schema_version == 0 and not (origin and origin.get("schema_version", 0) == 0 and same_object):
                schema_version = 1
        return {**extra, "schema_version": schema_version, "attributes": attrs}


@dataclass
class State:
    lineage: str
    serial: int = 0
    workspace: str = "default"
    guild_id: str | None = None
    resources: list[Resource] = field(default_factory=list)
    outputs: dict[str, Any] = field(default_factory=dict)
    version: int = STATE_VERSION
    last_modified: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    dialect: str = GAIB
    """``"original"`` for a file written by the original Gaib: it is written back in its form."""

    @classmethod
    def new(cls, workspace: str, guild_id: str | None = None) -> State:
        return cls(lineage=new_lineage(), serial=0, workspace=workspace, guild_id=guild_id)

    # --- lookups ---------------------------------------------------------------------------------
    def find(self, address: str) -> Resource | None:
        for res in self.resources:
            if res.address == address:
                return res
        return None

    def addresses(self) -> list[str]:
        return [r.address for r in self.resources]

    # --- serialisation ---------------------------------------------------------------------------
    def find_by_name(self, rtype: str, name: str) -> Resource | None:
        """The resource of ``rtype`` whose address name is ``name``, compared case-insensitively when
        no exact match exists (addresses of display names are typed by hand)."""
        exact = self.find(f"{rtype}.{name}")
        if exact is not None:
            return exact
        folded = [r for r in self.resources if r.type == rtype and r.name.casefold() == name.casefold()]
        return folded[0] if len(folded) == 1 else None

    def resource_dict(self, res: Resource) -> dict[str, Any]:
        """One resource as this state stores it (its dialect)."""
        return res.to_dict(self.dialect, self._category_names())

    def _category_names(self) -> dict[str, str]:
        return {str(r.id): str(r.attributes.get("name", r.name)) for r in self.resources
                if r.type == dialects.CATEGORY and r.id}

    def to_dict(self, dialect: str | None = None) -> dict[str, Any]:
        """The document as stored, in ``dialect`` (default: the state's own)."""
        form = dialect or self.dialect
        names = self._category_names() if form == ORIGINAL else {}
        doc: dict[str, Any] = {
            "version": self.version,
            "serial": self.serial,
            "lineage": self.lineage,
            "workspace": self.workspace,
            "guild_id": self.guild_id,
            "resources": [r.to_dict(form, names) for r in self.resources],
            "outputs": self.outputs,
        }
        if form == ORIGINAL and self.guild_id is None:
            del doc["guild_id"]  # the original never writes it; an empty state without it stays original
        if self.last_modified is not None:
            doc["lastModified"] = self.last_modified
        for key, value in self.extra.items():
            doc.setdefault(key, value)
        return doc

    def to_json(self) -> bytes:
        """The on-disk form: stable key order, UTF-8, trailing newline; one line per top-level field
        and per resource, so diffs stay readable while the fast (C) JSON encoder does the work."""
        doc = self.to_dict()
        lines = []
        for key, value in doc.items():
            if key == "resources" and value:
                items = ",\n".join("    " + _dumps(r) for r in value)
                lines.append(f'  "resources": [\n{items}\n  ]')
            else:
                lines.append(f"  {_dumps(key)}: {_dumps(value)}")
        return ("{\n" + ",\n".join(lines) + "\n}\n").encode()

    def canonical(self) -> bytes:
        """Canonical JSON (sorted keys, no spaces) for checksums and comparisons."""
        return canonical_json(self.to_dict())

    def content_equal(self, other: State) -> bool:
        """True if both hold the same resources and outputs (serial, lineage, timestamps ignored)."""
        a = {"resources": [r.to_dict() for r in self.resources], "outputs": self.outputs}
        b = {"resources": [r.to_dict() for r in other.resources], "outputs": other.outputs}  # both in Gaib's form
        return canonical_json(a) == canonical_json(b)


def _dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(", ", ": "))


def canonical_json(value: Any) -> bytes:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


# --- parsing ---------------------------------------------------------------------------------------


MAX_STATE_BYTES = 64 * 1024 * 1024
MAX_STATE_DEPTH = 64
MAX_SERIAL = 2**63 - 1


def parse_state(raw: bytes | str, source: str) -> State:
    """Parse a state document; raises StateError (exit 3) naming ``source`` and the problem.

    The one reader of state files: any decoding, size, depth, number or type problem is a
    StateError, never another exception.
    """
    try:
        doc = safejson.loads(raw, max_bytes=MAX_STATE_BYTES, max_depth=MAX_STATE_DEPTH)
    except safejson.JsonProblem as exc:
        raise _bad(source, str(exc)) from None
    return state_from_dict(doc, source)


def state_from_dict(doc: Any, source: str) -> State:
    """A State from its decoded JSON; StateError (exit 3) for anything but a well-formed state.

    Besides the types, it checks what later commands rely on: ``serial`` at most 2^63 - 1,
    ``workspace`` a workspace name, ``guild_id`` a Discord id.
    """
    try:
        safejson.check_tree(doc, max_depth=MAX_STATE_DEPTH)
    except safejson.JsonProblem as exc:
        raise _bad(source, str(exc)) from None
    if not isinstance(doc, dict):
        raise _bad(source, f"the top level must be a JSON object, not {_kind(doc)}")
    version = _field(doc, "version", int, source)
    if version > STATE_VERSION:
        raise StateError(
            f"State file {source} has format version {version}; this Gaib reads up to {STATE_VERSION}.",
            hint="Upgrade Gaib to read it.",
        )
    serial = _field(doc, "serial", int, source)
    if serial < 0:
        raise _bad(source, "'serial' must not be negative")
    if serial > MAX_SERIAL:
        raise _bad(source, f"'serial' is larger than {MAX_SERIAL}")
    lineage = _field(doc, "lineage", str, source)
    if not lineage:
        raise _bad(source, "'lineage' must not be empty")
    resources_raw = _field(doc, "resources", list, source, default=[])
    outputs = _field(doc, "outputs", dict, source, default={})
    workspace = _field(doc, "workspace", str, source, default="default")
    if not _valid(check_name, workspace):
        raise _bad(source, f"'workspace' {workspace[:40]!r} is not a workspace name (letters, digits, '-', '_')")
    guild_id = doc.get("guild_id")
    if guild_id is not None and (isinstance(guild_id, bool) or not isinstance(guild_id, str | int)):
        raise _bad(source, f"'guild_id' must be a string, not {_kind(guild_id)}")
    if guild_id is not None and not _valid(check_snowflake, str(guild_id)):
        raise _bad(source, f"'guild_id' {str(guild_id)[:40]!r} is not a Discord id (digits only)")
    last_modified = doc.get("lastModified")
    known = {"version", "serial", "lineage", "workspace", "guild_id", "resources", "outputs", "lastModified"}
    extra = {k: v for k, v in doc.items() if k not in known}
    resources = [_resource(r, i, source) for i, r in enumerate(resources_raw)]
    original = any(r.provider == ORIGINAL_PROVIDER for r in resources) or (
        not resources and "guild_id" not in doc) or any(
        dialects.is_original(i.attributes) for r in resources for i in r.instances)
    category_ids = {str(r.instances[0].attributes.get("name", r.name)).casefold(): str(r.instances[0].attributes["id"])
                    for r in resources if r.type == dialects.CATEGORY and r.instances
                    and r.instances[0].attributes.get("id") is not None}
    for res in resources:
        for inst in res.instances:
            inst.attributes = dialects.to_gaib(res.type, inst.attributes, category_ids)
    seen: set[str] = set()
    for res in resources:
        if res.address in seen:
            raise _bad(source, f"resource {res.address} appears twice")
        seen.add(res.address)
    return State(
        lineage=lineage, serial=serial, workspace=workspace,
        guild_id=str(guild_id) if guild_id is not None else None,
        resources=resources, outputs=outputs, version=version,
        last_modified=str(last_modified) if last_modified is not None else None, extra=extra,
        dialect=ORIGINAL if original else GAIB,
    )


def _resource(raw: Any, index: int, source: str) -> Resource:
    where = f"resources[{index}]"
    if not isinstance(raw, dict):
        raise _bad(source, f"{where} must be an object, not {_kind(raw)}")
    rtype = _field(raw, "type", str, source, where=where)
    name = _field(raw, "name", str, source, where=where)
    instances_raw = _field(raw, "instances", list, source, where=where, default=[])
    instances = []
    for j, inst in enumerate(instances_raw):
        iwhere = f"{where}.instances[{j}]"
        if not isinstance(inst, dict):
            raise _bad(source, f"{iwhere} must be an object, not {_kind(inst)}")
        attrs = _field(inst, "attributes", dict, source, where=iwhere)
        schema_version = _field(inst, "schema_version", int, source, where=iwhere, default=0)
        iextra = {k: v for k, v in inst.items() if k not in ("attributes", "schema_version")}
        instances.append(Instance(attributes=attrs, schema_version=schema_version, extra=iextra))
    provider = _field(raw, "provider", str, source, where=where, default=PROVIDER)
    mode = _field(raw, "mode", str, source, where=where, default="managed")
    extra = {k: v for k, v in raw.items() if k not in ("type", "name", "instances", "provider", "mode")}
    origin = copy.deepcopy(instances_raw[0]) if instances_raw else None
    return Resource(type=rtype, name=name, instances=instances, provider=provider, mode=mode, extra=extra,
                    has_mode="mode" in raw, origin=origin)


_MISSING = object()


def _field(doc: dict[str, Any], key: str, kind: type, source: str, *, where: str = "",
           default: Any = _MISSING) -> Any:
    label = f"{where}.{key}" if where else key
    if key not in doc:
        if default is _MISSING:
            raise _bad(source, f"required field '{label}' is missing")
        return default
    value = doc[key]
    if kind is int and (isinstance(value, bool) or not isinstance(value, int)):
        raise _bad(source, f"'{label}' must be an integer, not {_kind(value)}")
    if not isinstance(value, kind):
        raise _bad(source, f"'{label}' must be {_KIND_NAMES.get(kind, kind.__name__)}, not {_kind(value)}")
    return value


_KIND_NAMES = {str: "a string", list: "a list", dict: "an object", int: "an integer"}


def _kind(value: Any) -> str:
    return safejson.kind_of(value)


def _valid(check: Callable[[str], str], value: str) -> bool:
    try:
        check(value)
    except InvalidName:
        return False
    return True


def _bad(source: str, problem: str) -> StateError:
    return StateError(f"Malformed state in {source}: {problem}.", details={"source": source})
