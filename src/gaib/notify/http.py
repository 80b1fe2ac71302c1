"""``UrllibWebhookSender``: one JSON POST to a Discord webhook with the standard library.

Used by ``gaib server notify test`` (one message, so no retry loop: a 429 or 5xx is reported, not waited
out). Errors name the HTTP status or the exception type, never the URL or the answer's body.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from typing import Any

from gaib.notify.base import NotifyError

USER_AGENT = "gaib (https://github.com/gaib, 1.0)"
_HINT = ("Check that the secret holds the webhook's current URL (Server Settings > Integrations > Webhooks) and "
         "that Discord is reachable, then run 'gaib server notify test' again.")


class UrllibWebhookSender:
    def __init__(self, *, timeout: float = 10.0) -> None:
        self._timeout = timeout

    def __repr__(self) -> str:
        return "UrllibWebhookSender()"

    def post(self, url: str, payload: dict[str, Any]) -> int:
        body = json.dumps(payload, ensure_ascii=False).encode("utf-8")
        request = urllib.request.Request(url, data=body, method="POST",
                                         headers={"Content-Type": "application/json", "User-Agent": USER_AGENT})
        try:
            with urllib.request.urlopen(request, timeout=self._timeout) as response:
                return int(response.status)
        except urllib.error.HTTPError as exc:
            status = int(exc.code)
            if status == 404:
                raise NotifyError("The webhook answered 404 Unknown Webhook: it was deleted.",
                                  hint="Create a new webhook, store its URL in the secret, and run "
                                       "'gaib server notify test' again.") from None
            raise NotifyError(f"The webhook refused the test message (HTTP {status}).", hint=_HINT) from None
        except (urllib.error.URLError, TimeoutError, ConnectionError, OSError) as exc:
            raise NotifyError(f"The webhook could not be reached ({type(exc).__name__}).", hint=_HINT) from None
