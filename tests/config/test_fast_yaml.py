"""Reading YAML through libyaml gives exactly what PyYAML's own loader gives: the same data, the same
lines, the same refusals and messages (a large config then loads several times faster)."""

from __future__ import annotations

import random
from collections.abc import Iterator
from typing import Any

import pytest

from gaib.config import source
from gaib.errors import ConfigError
from tests.support.raid_config import CONFIG

DOCUMENTS = [
    CONFIG,
    'version: "1.0"\ntheme:\n  name: sietch\n',
    'a: &x {b: 1, c: [1, 2, "three"]}\nd: *x\ne:\n  <<: *x\n  f: yes\n',
    'x: "tab\\tand\\u00e9 \\x41"\ny: \'single \'\'q\'\'\'\nz: |\n  block\n  text\nw: >\n  folded\n  text\n',
    "k: 0x1F\nj: 1_000\nf: .inf\nn: ~\nt: 2001-12-14t21:59:43.10-05:00\nd: 2002-12-14\non: off\n",
    "%YAML 1.1\n---\na: 1\n...\n",
    "a: 1\n---\nb: 2\n",
    "a: [1, 2\n",
    "a: b: c\n",
    "a:\n\t- tab\n",
    "\ufeffa: bom\n",
    "a: 1\na: 2\n",
    "a: *undefined\n",
    "roles:\n  - name: Questions?\n    color: '#00ff00'\n",
    "[1, 2, 3]\n",
    "# only a comment\n",
    "x: " + "[" * 300 + "]" * 300 + "\n",
]


def _read(text: str, *, fast: bool) -> tuple[Any, ...]:
    saved = list(source._FAST_LOADER)
    if not fast:
        source._FAST_LOADER[:] = [None]  # as on a PyYAML built without libyaml
    try:
        doc = source.parse_yaml(text, "f.yaml", allow_empty=True)
        return ("read", doc.data, doc.lines, doc.unresolved)
    except ConfigError as err:
        return ("refused", err.message)
    finally:
        source._FAST_LOADER[:] = saved


@pytest.fixture(autouse=True)
def _libyaml() -> Iterator[None]:
    if source._fast_loader() is None:
        pytest.skip("PyYAML without libyaml: only its own loader is used")
    yield


@pytest.mark.parametrize("text", DOCUMENTS)
def test_libyaml_and_pyyaml_read_a_document_alike(text: str) -> None:
    assert _read(text, fast=True) == _read(text, fast=False)


def test_libyaml_and_pyyaml_read_mutated_documents_alike() -> None:
    rng = random.Random(25)
    alphabet = list(":-[]{},&*!|>'\"%@`#? \n\t\\ab1\x00\x7f\u00e9\u2028\ufeff\r.=+^$")
    differ = []
    for base in DOCUMENTS[1:-1]:
        for _ in range(60):
            chars = list(base)
            for _ in range(rng.randint(1, 4)):
                at = rng.randint(0, len(chars))
                if rng.random() < 0.5 or not chars:
                    chars.insert(at, rng.choice(alphabet))
                else:
                    chars[min(at, len(chars) - 1)] = rng.choice(alphabet)
            text = "".join(chars)
            if _read(text, fast=True) != _read(text, fast=False):
                differ.append(text)
    assert differ == []
