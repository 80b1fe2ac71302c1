"""Validation of a webhook message's embeds and of webhook names, reporting into a :class:`FormErrors`.

Discord's limits kept here: title 256, description 4096, url 2048, footer text 2048, author name
256, at most 25 fields of name 256 and value 1024, 6000 characters in all the embeds together;
webhook names and usernames may not contain "clyde" or "discord" (any case).
"""

from __future__ import annotations

from typing import Any

from gaib.emulator.apierrors import FormErrors
from gaib.emulator.fields import Fields

EMBED_TOTAL_CHARS = 6000
MAX_COLOR = 0xFFFFFF
FORBIDDEN_WEBHOOK_NAMES = ("clyde", "discord")


def check_webhook_name(errs: FormErrors, path: tuple[str, ...], name: str) -> None:
    lowered = name.casefold()
    for word in FORBIDDEN_WEBHOOK_NAMES:
        if word in lowered:
            errs.add(path, "USERNAME_INVALID_CONTAINS", f'Username cannot contain "{word}"')


def check_embeds(errs: FormErrors, embeds: list[Any]) -> list[dict[str, Any]]:
    """Validate embeds (Discord's per-field limits and 6000 characters in total); returns their API form."""
    total = 0
    out: list[dict[str, Any]] = []
    for i, embed in enumerate(embeds):
        path: tuple[str | int, ...] = ("embeds", i)
        if not isinstance(embed, dict):
            errs.add(path, "DICT_TYPE_CONVERT", "Only dictionaries may be used in a DictType")
            continue
        f = Fields(embed, errs, path)
        shown: dict[str, Any] = {"type": "rich"}
        for key, limit in (("title", 256), ("description", 4096), ("url", 2048), ("timestamp", 64)):
            value = f.string(key, 0, limit)
            if isinstance(value, str):
                shown[key] = value
                if key in ("title", "description"):
                    total += len(value)
        color = f.integer("color", 0, MAX_COLOR)
        if isinstance(color, int):
            shown["color"] = color
        for key, text_key, limit in (("footer", "text", 2048), ("author", "name", 256)):
            part = f.obj(key)
            if isinstance(part, dict):
                pf = Fields(part, errs, (*path, key))
                text = pf.string(text_key, 0, limit)
                pf.string("icon_url", 0, 2048)
                if key == "author":
                    pf.string("url", 0, 2048)
                if isinstance(text, str):
                    total += len(text)
                    shown[key] = {text_key: text}
        fields = f.array("fields", 25)
        if isinstance(fields, list):
            shown_fields = []
            for j, item in enumerate(fields):
                if not isinstance(item, dict):
                    errs.add((*path, "fields", j), "DICT_TYPE_CONVERT", "Only dictionaries may be used in a DictType")
                    continue
                ff = Fields(item, errs, (*path, "fields", j))
                name = ff.string("name", 0, 256, required=True, nullable=False)
                value = ff.string("value", 0, 1024, required=True, nullable=False)
                inline = ff.boolean("inline")
                if isinstance(name, str) and isinstance(value, str):
                    total += len(name) + len(value)
                    shown_fields.append({"name": name, "value": value, "inline": inline is True})
            shown["fields"] = shown_fields
        out.append(shown)
    if total > EMBED_TOTAL_CHARS:
        errs.add(("embeds",), "MAX_EMBED_SIZE_EXCEEDED", f"Embed size exceeds maximum size of {EMBED_TOTAL_CHARS}")
    return out
