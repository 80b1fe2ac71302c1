"""The message a manifest's MAC covers: its whole body, the server and workspace it names and where it is
stored; a few hundred bytes whatever the bundle holds (KMS MACs at most 4 KiB)."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from gaib.bundles.authentic import authenticate, mac_message, prefix_of, sealed
from gaib.bundles.manifest import Manifest, Part, seal
from gaib.errors import BundleNotAuthentic, MissingSetting
from gaib.secrets.mac_local import LocalMacKey

SERVER, OTHER, SID = "1100000000000000001", "1100000000000000002", "20261125T170312042Z-a1b2c3d4"
SHA = "0" * 64


def _snapshot(server: str = SERVER, channels: int = 2) -> Manifest:
    names = ["state", "config", *(f"messages/{1200000000000000000 + n}" for n in range(channels))]
    parts = {n: Part(key=f"snapshots/{server}/{SID}/{n}.gz", codec="gzip",
                     plain_size=10, stored_size=30, plain_sha256=SHA, stored_sha256=SHA) for n in names}
    return seal(Manifest(kind="snapshot", id=SID, server_id=server, workspace="default",
                         created_at="2026-11-25T17:03:12.042Z", trigger="on-demand", tier="free", message="m",
                         serial=None, lineage=None, parts=parts))


def test_the_message_binds_body_server_workspace_and_place() -> None:
    m = _snapshot()
    assert prefix_of(m) == f"snapshots/{SERVER}/{SID}/"
    base = mac_message(m)
    moved = {k: replace(p, key=p.key.replace(SERVER, OTHER)) for k, p in m.parts.items()}
    variants = [replace(m, server_id=OTHER), replace(m, workspace="prod"), replace(m, message="edited"),
                replace(m, parts=moved), replace(m, counts={"bans": 5})]
    assert len({base, *(mac_message(seal(v)) for v in variants)}) == len(variants) + 1
    assert mac_message(replace(m, mac=None)) == base  # the MAC itself is not in its message


def test_the_message_stays_small_for_a_bundle_of_many_parts() -> None:
    assert len(mac_message(_snapshot(channels=2000))) < 600


def test_authenticate_tells_sealed_unsealed_and_forged_apart(tmp_path: Path) -> None:
    key = LocalMacKey(tmp_path / "store.mac-key")
    m = sealed(_snapshot(), key)
    assert authenticate(m, key, "snapshot") is True
    assert authenticate(replace(m, mac=None), key, "snapshot") is False  # written before sealing
    with pytest.raises(BundleNotAuthentic):
        authenticate(seal(replace(m, server_id=OTHER)), key, "snapshot")  # the MAC carried along
    with pytest.raises(BundleNotAuthentic):
        authenticate(m, LocalMacKey(tmp_path / "another.mac-key"), "snapshot")
    assert m.mac is not None
    with pytest.raises(BundleNotAuthentic):
        authenticate(replace(m, mac=replace(m.mac, value="not base64!")), key, "snapshot")
    with pytest.raises(MissingSetting):
        authenticate(m, None, "snapshot")  # sealed, and no key configured to check it
