"""The use cases of ``gaib server notify set | show | test | clear`` (``gaib.cli`` calls this module only).

A server's owner hears about their own server through a Discord webhook whose URL sits in a secret
(Secrets Manager on AWS, a ``GAIB_SECRET_*`` variable locally). Gaib stores only the secret's *name*, in the
catalog item ``SERVER#{id}/NOTIFY`` (``gaib.storage.keys.notify_key``); the notifier Lambda reads that item
and the secret to deliver the server's events there, and nowhere else.

Contracts:

- The name is checked first (``check_webhook_secret_name``: ``gaib/webhooks/...``, no ``..``): InvalidName,
  exit 6, before any request.
- ``set`` reads the secret and requires a Discord webhook URL in it (``WebhookSecretInvalid``, exit 2) and,
  where secrets carry tags (Secrets Manager), a ``ServerId`` tag naming this server (the same check the
  Lambda makes before every delivery). Nothing is written when a check fails.
- No URL is ever returned, printed, stored or put in an error: views hold the secret's name only.
- ``test`` posts one message to this server's webhook only; ``clear`` removes the item (idempotent).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from gaib.errors import Conflict, NotFound
from gaib.notify.webhook import WebhookSecretInvalid, parse_webhook_url, probe_payload
from gaib.ports import RunPorts, server_id_of
from gaib.secrets.base import check_webhook_secret_name
from gaib.storage.base import Item, damaged_reason
from gaib.storage.keys import notify_key
from gaib.tiers.manager import default_actor

SERVER_TAG = "ServerId"
ITEM_KIND = "notify"


@dataclass(frozen=True)
class NotifyView:
    """What ``show`` (and the other commands) report: the server and its webhook secret's name, if any."""

    server_id: str
    webhook_secret: str | None
    updated_at: str | None = None
    updated_by: str | None = None
    changed: bool = False
    status: int | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"server_id": self.server_id, "webhook_secret": self.webhook_secret,
                "updated_at": self.updated_at, "updated_by": self.updated_by, "changed": self.changed,
                "status": self.status}


def _view(server_id: str, item: Item | None) -> NotifyView:
    if item is None or damaged_reason(item) is not None:
        return NotifyView(server_id, None)
    secret = item.get("webhook_secret")
    return NotifyView(server_id, secret if isinstance(secret, str) else None,
                      updated_at=_text(item.get("updated_at")), updated_by=_text(item.get("updated_by")))


def _text(value: object) -> str | None:
    return value if isinstance(value, str) else None


def _checked_url(ports: RunPorts, server_id: str, secret: str) -> str:
    """The webhook URL in ``secret`` after every check (shape, and the ServerId tag where there are tags)."""
    url = parse_webhook_url(ports.secrets.get_text(secret), secret)
    tags = ports.secrets.tags(secret)
    if tags is not None and tags.get(SERVER_TAG) != server_id:
        tagged = tags.get(SERVER_TAG)
        where = f"names server {tagged}" if tagged else "is missing"
        raise WebhookSecretInvalid(f"Secret {secret} is not bound to server {server_id}: its {SERVER_TAG} tag {where}.",
                                   hint=f"Tag the secret {SERVER_TAG}={server_id} (a webhook secret serves one "
                                        "server), or name this server's own secret.")
    return url


def show(ports: RunPorts) -> NotifyView:
    """The server's webhook secret name (never the URL), or none registered."""
    sid = server_id_of(ports)
    return _view(sid, ports.catalog.get(*notify_key(sid)))


def set_webhook(ports: RunPorts, webhook_secret: str) -> NotifyView:
    """Name ``webhook_secret`` as the server's webhook after checking what it holds (see the module doc)."""
    secret = check_webhook_secret_name(webhook_secret)
    sid = server_id_of(ports)
    _checked_url(ports, sid, secret)
    fields = {"kind": ITEM_KIND, "server_id": sid, "webhook_secret": secret,
              "updated_at": ports.clock().isoformat(timespec="seconds"),
              "updated_by": ports.settings.actor or default_actor()}
    pk, sk = notify_key(sid)
    for _ in range(5):
        try:
            if ports.catalog.get(pk, sk) is None:
                ports.catalog.put_if_absent(pk, sk, fields)
            else:
                ports.catalog.update(pk, sk, fields)
            return NotifyView(sid, secret, updated_at=fields["updated_at"], updated_by=fields["updated_by"],
                              changed=True)
        except (Conflict, NotFound):
            continue  # created or removed meanwhile: read again
    raise Conflict(f"The notification item of server {sid} kept changing while it was written.",
                   hint="Run the command again.")


def send_test(ports: RunPorts) -> NotifyView:
    """Post one test message to the server's own webhook; NotFound (exit 6) when none is registered."""
    current = show(ports)
    if current.webhook_secret is None:
        raise NotFound(f"Server {current.server_id} has no webhook for its notifications.",
                       hint="Register one with 'gaib server notify set --webhook-secret gaib/webhooks/NAME'.")
    url = _checked_url(ports, current.server_id, current.webhook_secret)
    status = ports.webhooks.post(url, probe_payload(current.server_id, current.webhook_secret, ports.clock()))
    return NotifyView(current.server_id, current.webhook_secret, current.updated_at, current.updated_by,
                      status=status)


def clear(ports: RunPorts) -> NotifyView:
    """Remove the server's webhook registration (idempotent); ``changed`` says whether there was one."""
    current = show(ports)
    ports.catalog.delete(*notify_key(current.server_id))
    return NotifyView(current.server_id, None, changed=current.webhook_secret is not None)
