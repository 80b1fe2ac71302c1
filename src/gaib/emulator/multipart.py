"""Reading ``multipart/form-data`` request bodies (Discord's sticker upload) for the emulator.

:func:`parse_multipart` returns the form as a dict: a field with a ``filename`` becomes its bytes, any
other field its text (UTF-8). A body that is not well-formed multipart raises :class:`MultipartError`.
"""

from __future__ import annotations

import email.parser
import email.policy
from email.message import EmailMessage


class MultipartError(ValueError):
    """The body is not ``multipart/form-data`` the emulator can read."""


def parse_multipart(content_type: str, body: bytes) -> dict[str, str | bytes]:
    if "boundary=" not in content_type:
        raise MultipartError("multipart/form-data needs a boundary.")
    raw = f"Content-Type: {content_type}\r\nMIME-Version: 1.0\r\n\r\n".encode("latin-1") + body
    message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(raw)
    if not isinstance(message, EmailMessage) or not message.is_multipart():
        raise MultipartError("The body is not multipart/form-data.")
    form: dict[str, str | bytes] = {}
    for part in message.iter_parts():
        if not isinstance(part, EmailMessage):
            continue
        name = part.get_param("name", header="content-disposition")
        if not isinstance(name, str) or not name:
            raise MultipartError("A form part has no name.")
        data = part.get_payload(decode=True)
        if not isinstance(data, bytes):
            data = b""
        if part.get_filename() is not None:
            form[name] = data
        else:
            try:
                form[name] = data.decode("utf-8")
            except UnicodeDecodeError:
                raise MultipartError(f"Form field {name!r} is not UTF-8 text.") from None
    return form
