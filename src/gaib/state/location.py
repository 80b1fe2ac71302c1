"""Where one workspace's state lives, as a backup schedule records it (backend, bucket, key or folder).

A :class:`StateLocation` is plain data; ``gaib.wiring.App.state_for`` turns it into a state backend,
and :attr:`StateLocation.backend_workspace` is the workspace to read in that backend:

* ``s3``: the exact object key of the state (``servers/default/terraform.tfstate``). The backend is
  made with that key as its only key, so its one workspace is ``default``.
* ``local``: the state folder (``.gaib``) of a project on this machine; the workspace is read by name
  (``<path>/workspaces/<workspace>/terraform.tfstate``). Only for local runs and tests.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

StateBackendKind = Literal["s3", "local"]


@dataclass(frozen=True)
class StateLocation:
    workspace: str
    backend: StateBackendKind
    bucket: str | None = None
    key: str | None = None
    region: str | None = None
    path: str | None = None

    @property
    def backend_workspace(self) -> str:
        """The workspace name to read in the backend ``App.state_for`` builds for this location."""
        return "default" if self.backend == "s3" else self.workspace

    def describe(self) -> str:
        if self.backend == "s3":
            return f"s3://{self.bucket}/{self.key}"
        return f"{self.path}/workspaces/{self.workspace}/terraform.tfstate"

    def to_dict(self) -> dict[str, Any]:
        if self.backend == "s3":
            return {"backend": "s3", "bucket": self.bucket, "key": self.key, "region": self.region}
        return {"backend": "local", "path": self.path}
