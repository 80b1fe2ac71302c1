"""Raw access to the backup storage behind a CLI runner, bypassing Gaib (as an attacker or a disk would):
the local folder ``.gaib/backups`` and its SQLite catalog, or the S3 bucket and DynamoDB table its
environment names (read with boto3 against moto). Nothing here goes through Gaib's own readers except
``Storage.catalog``."""

from __future__ import annotations

import json
import sqlite3
from typing import Any

from tests.support.cli import CliRunner


class Storage:
    """Raw access to the backup storage behind ``bcli``, bypassing Gaib (as an attacker or a disk would)."""

    def __init__(self, cli: CliRunner) -> None:
        self.cli = cli
        self.bucket = cli.environ.get("GAIB_BACKUP_BUCKET")
        self.table = cli.environ.get("GAIB_BACKUP_TABLE")
        self.kind = "aws" if self.bucket else "local"
        self.root = cli.cwd / ".gaib" / "backups"

    def _client(self, service: str) -> Any:
        import boto3

        factory: Any = boto3.client
        return factory(service, region_name="us-east-1", endpoint_url=self.cli.environ["AWS_ENDPOINT_URL"])

    def objects(self) -> dict[str, bytes]:
        """Every stored object (key -> bytes), bypassing Gaib."""
        if self.kind == "local":
            out: dict[str, bytes] = {}
            if not self.root.is_dir():
                return out
            for path in sorted(self.root.rglob("*")):
                rel = path.relative_to(self.root).as_posix()
                if path.is_file() and rel.split("/")[0] in ("state", "snapshots", "exports", "themes", "metadata"):
                    out[rel] = path.read_bytes()
            return out
        s3 = self._client("s3")
        keys = [o["Key"] for page in s3.get_paginator("list_objects_v2").paginate(Bucket=self.bucket)
                for o in page.get("Contents", [])]
        return {k: s3.get_object(Bucket=self.bucket, Key=k)["Body"].read() for k in sorted(keys)}

    def write(self, key: str, data: bytes) -> None:
        """Replace an object's bytes in place, as a faulty disk or a hand with write access would."""
        if self.kind == "local":
            (self.root / key).write_bytes(data)
        else:
            self._client("s3").put_object(Bucket=self.bucket, Key=key, Body=data)

    def delete(self, key: str) -> None:
        """Remove an object behind Gaib's back (a hand with delete access, a lifecycle rule gone wrong)."""
        if self.kind == "local":
            (self.root / key).unlink()
        else:
            self._client("s3").delete_object(Bucket=self.bucket, Key=key)

    def items(self) -> list[dict[str, Any]]:
        """Every catalog item, expired or not, with its keys (PK, SK)."""
        if self.kind == "local":
            db = self.root / "catalog.sqlite3"
            if not db.exists():
                return []
            conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
            try:
                rows = conn.execute("SELECT pk, sk, body FROM items ORDER BY pk, sk").fetchall()
            finally:
                conn.close()
            return [{"PK": pk, "SK": sk, **json.loads(body)} for pk, sk, body in rows]
        from boto3.dynamodb.types import TypeDeserializer

        de = TypeDeserializer()
        raw = [i for page in self._client("dynamodb").get_paginator("scan").paginate(TableName=self.table)
               for i in page.get("Items", [])]
        items = [{k: de.deserialize(v) for k, v in i.items()} for i in raw]
        return sorted(items, key=lambda i: (i["PK"], i["SK"]))

    def catalog(self) -> Any:
        """Gaib's own Catalog adapter for this storage (to set a tier or tamper with an item)."""
        from gaib.storage.open import open_storage

        return open_storage(root=self.root, bucket=self.bucket, table=self.table, region="us-east-1",
                            environ=self.cli.environ)[1]

    def tree(self) -> dict[str, bytes]:
        """Every file of the project folder except SQLite's own (compared logically via ``items``)."""
        out = {}
        for path in sorted(self.cli.cwd.rglob("*")):
            if path.is_file() and not path.name.startswith("catalog.sqlite3"):
                out[path.relative_to(self.cli.cwd).as_posix()] = path.read_bytes()
        return out

    def fingerprint(self) -> tuple[dict[str, bytes], dict[str, bytes], list[dict[str, Any]]]:
        """Everything a command could have written: project files, stored objects, catalog items."""
        return self.tree(), self.objects(), self.items()


def tags_of(cli: CliRunner) -> dict[str, dict[str, str]]:
    """Every object's tags, read past Gaib: boto3 against moto, or the local store's sidecar files."""
    storage = Storage(cli)
    if storage.kind == "aws":
        s3 = storage._client("s3")
        return {key: {t["Key"]: t["Value"] for t in s3.get_object_tagging(Bucket=storage.bucket, Key=key)["TagSet"]}
                for key in storage.objects()}
    out = {}
    for key in storage.objects():
        meta = storage.root / ".meta" / f"{key}.json"
        out[key] = json.loads(meta.read_text())["tags"]
    return out
