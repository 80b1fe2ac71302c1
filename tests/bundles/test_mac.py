"""The manifest MAC port: both adapters (a key file beside the local store, KMS on moto) keep one contract."""

from __future__ import annotations

import os
import stat
import threading
from collections.abc import Callable
from pathlib import Path

import pytest

from gaib.errors import StorageError
from gaib.secrets.mac import ManifestMac
from gaib.secrets.mac_kms import KmsMac
from gaib.secrets.mac_local import LocalMacKey
from tests.support.store import hmac_key

Keys = tuple[Callable[[], ManifestMac], Callable[[], ManifestMac]]


@pytest.fixture(params=["local", pytest.param("kms", marks=pytest.mark.aws)])
def keys(request: pytest.FixtureRequest, tmp_path: Path) -> Keys:
    """Two factories of MAC ports: each port of the first uses one key, of the second another."""
    if request.param == "local":
        return (lambda: LocalMacKey(tmp_path / "backups.mac-key"),
                lambda: LocalMacKey(tmp_path / "other.mac-key"))
    env = request.getfixturevalue("aws_env")
    one, two = hmac_key(env), hmac_key(env)
    return (lambda: KmsMac(one, region="us-east-1", endpoint_url=env["AWS_ENDPOINT_URL"]),
            lambda: KmsMac(two, region="us-east-1", endpoint_url=env["AWS_ENDPOINT_URL"]))


def test_a_mac_verifies_for_its_message_and_key_only(keys: Keys) -> None:
    mine, others = keys
    mac = mine()
    made = mac.mac(b"manifest of server A")
    assert len(made) == 32 and mac.mac(b"manifest of server A") == made  # HMAC-SHA-256, deterministic
    assert mine().verify(b"manifest of server A", made)  # another port over the same key agrees
    assert not mac.verify(b"manifest of server B", made)
    assert not mac.verify(b"manifest of server A", made[:-1] + bytes([made[-1] ^ 1]))
    assert not mac.verify(b"manifest of server A", b"")
    assert not mac.verify(b"manifest of server A", made[:16])
    other = others()
    assert not other.verify(b"manifest of server A", made)
    assert other.mac(b"manifest of server A") != made and other.key_id != mac.key_id


def test_the_local_key_is_made_once_private_and_never_replaced(tmp_path: Path) -> None:
    path = tmp_path / "store.mac-key"
    reader = LocalMacKey(path)
    assert not reader.verify(b"m", b"\0" * 32) and not path.exists()  # checking creates nothing
    made = LocalMacKey(path).mac(b"m")
    key = path.read_bytes()
    assert len(key) == 32 and stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert LocalMacKey(path).mac(b"m") == made and path.read_bytes() == key  # an existing key is kept
    assert sorted(p.name for p in tmp_path.iterdir()) == ["store.mac-key"]  # no temporary file left
    assert LocalMacKey(path).key_id.startswith("local:") and key.hex()[:16] not in LocalMacKey(path).key_id


def test_two_first_seals_at_once_share_one_key(tmp_path: Path) -> None:
    path = tmp_path / "store.mac-key"
    macs: list[bytes] = []
    threads = [threading.Thread(target=lambda: macs.append(LocalMacKey(path).mac(b"m"))) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(set(macs)) == 1 and LocalMacKey(path).verify(b"m", macs[0])


def test_a_damaged_key_file_is_an_error_not_a_new_key(tmp_path: Path) -> None:
    path = tmp_path / "store.mac-key"
    path.write_bytes(b"short")
    with pytest.raises(StorageError, match="damaged"):
        LocalMacKey(path).mac(b"m")
    assert path.read_bytes() == b"short"


@pytest.mark.aws
def test_kms_refuses_a_key_that_cannot_make_macs(aws_env: dict[str, str]) -> None:
    import boto3

    kms = boto3.client("kms", region_name="us-east-1", endpoint_url=aws_env["AWS_ENDPOINT_URL"])
    encrypting = kms.create_key()["KeyMetadata"]["Arn"]  # a symmetric encryption key, not an HMAC key
    with pytest.raises(StorageError, match="KMS"):
        KmsMac(encrypting, region="us-east-1", endpoint_url=aws_env["AWS_ENDPOINT_URL"]).mac(b"m")
