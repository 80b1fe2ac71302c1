"""Load infrastructure/terraform/*.tf with python-hcl2 into plain dicts the tests can index."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import hcl2

TF_DIR = Path(__file__).resolve().parents[2] / "infrastructure" / "terraform"


def _clean(value: Any) -> Any:
    if isinstance(value, dict):
        return {
            _unquote(k): _clean(v)
            for k, v in value.items()
            if k not in {"__is_block__", "__start_line__", "__end_line__", "__comments__", "__inline_comments__"}
        }
    if isinstance(value, list):
        return [_clean(v) for v in value]
    if isinstance(value, str):
        return _unquote(value)
    return value


def _unquote(text: str) -> str:
    if len(text) >= 2 and text[0] == '"' and text[-1] == '"':
        return text[1:-1]
    return text


def parse_file(path: Path) -> dict[str, Any]:
    """Parse one .tf file; raises on a syntax error (our stand-in for `terraform validate`)."""
    with path.open(encoding="utf-8") as fh:
        try:
            from hcl2.utils import SerializationOptions
        except ImportError:  # python-hcl2 < 7 has no options and already strips quotes
            parsed: dict[str, Any] = _clean(hcl2.load(fh))
            return parsed
        options = SerializationOptions(with_comments=False, explicit_blocks=False, strip_string_quotes=True)
        result: dict[str, Any] = _clean(hcl2.load(fh, serialization_options=options))
        return result


@dataclass
class Stack:
    resources: dict[str, dict[str, dict[str, Any]]] = field(default_factory=dict)
    data: dict[str, dict[str, dict[str, Any]]] = field(default_factory=dict)
    variables: dict[str, dict[str, Any]] = field(default_factory=dict)
    outputs: dict[str, dict[str, Any]] = field(default_factory=dict)
    locals: dict[str, Any] = field(default_factory=dict)
    providers: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    terraform: list[dict[str, Any]] = field(default_factory=list)
    files: dict[str, str] = field(default_factory=dict)

    def resource(self, rtype: str, name: str) -> dict[str, Any]:
        return self.resources[rtype][name]

    def policy(self, name: str) -> dict[str, Any]:
        return self.data["aws_iam_policy_document"][name]

    def statements(self, name: str) -> list[dict[str, Any]]:
        """Statements of a policy document, dynamic ones included (their `content`)."""
        doc = self.policy(name)
        out = list(doc.get("statement", []))
        for dyn in doc.get("dynamic", []):
            for label, body in dyn.items():
                if label == "statement":
                    out.extend(body.get("content", []))
        return out

    def all_statements(self) -> Iterator[tuple[str, dict[str, Any]]]:
        for name in self.data.get("aws_iam_policy_document", {}):
            for st in self.statements(name):
                yield name, st


def load_stack(tf_dir: Path = TF_DIR) -> Stack:
    stack = Stack()
    for path in sorted(tf_dir.glob("*.tf")):
        stack.files[path.name] = path.read_text(encoding="utf-8")
        doc = parse_file(path)
        for block in doc.get("resource", []):
            for rtype, named in block.items():
                stack.resources.setdefault(rtype, {}).update(named)
        for block in doc.get("data", []):
            for dtype, named in block.items():
                stack.data.setdefault(dtype, {}).update(named)
        for block in doc.get("variable", []):
            stack.variables.update(block)
        for block in doc.get("output", []):
            stack.outputs.update(block)
        for block in doc.get("locals", []):
            stack.locals.update(block)
        for block in doc.get("provider", []):
            stack.providers.extend(block.items())
        stack.terraform.extend(doc.get("terraform", []))
    return stack


REF = re.compile(r"\$\{([^}]*)\}")


def refs(value: Any) -> str:
    """Everything a value mentions, flattened to one string (for 'does X reference Y' checks)."""
    return repr(value)


def one(blocks: list[dict[str, Any]]) -> dict[str, Any]:
    """The only block of a list of blocks (HCL nests every block in a list); asserts there is exactly one."""
    assert len(blocks) == 1, blocks
    return blocks[0]
