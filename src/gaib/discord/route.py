"""One Discord API route (method, path template, parameters) and the parameters that split its bucket.

Kept apart from the rate limiter that keys its buckets by it (:mod:`gaib.discord.ratelimit`, which
re-exports both names): every endpoint module builds routes, few need the limiter.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field

#: Path parameters that split a bucket (Discord's "major parameters"), in priority order.
MAJOR_PARAMETERS = ("channel_id", "guild_id", "webhook_id")


@dataclass(frozen=True)
class Route:
    """One API route: the method, the path template and the values of its parameters.

    ``template`` uses ``{name}`` placeholders, e.g. ``/guilds/{guild_id}/roles/{role_id}``.
    """

    method: str
    template: str
    params: Mapping[str, str] = field(default_factory=dict)

    @property
    def path(self) -> str:
        return self.template.format(**self.params)

    @property
    def major(self) -> str:
        """The top-level id that splits buckets; the webhook token is hashed, never kept in clear."""
        for name in MAJOR_PARAMETERS:
            if name in self.params:
                value = self.params[name]
                if name == "webhook_id" and "webhook_token" in self.params:
                    digest = hashlib.sha256(self.params["webhook_token"].encode()).hexdigest()[:16]
                    value = f"{value}:{digest}"
                return f"{name}={value}"
        return ""

    @property
    def display(self) -> str:
        """``METHOD path`` safe for messages and logs: a webhook token is replaced by ``[redacted]``."""
        params = dict(self.params)
        if "webhook_token" in params:
            params["webhook_token"] = "[redacted]"
        return f"{self.method} {self.template.format(**params)}"
