"""The request-body media types each operation reads, and the 415 that lists them.

Bodies are JSON (``application/json``) unless a path registers its own list with the body
guard (:class:`~astroshield.api.middleware.RequestGuardMiddleware`, path regex -> types):
then exactly those types are read there. Parameters such as ``charset`` are ignored (only
UTF-8 is read). The same list goes into the operation's OpenAPI ``requestBody.content``.
"""

from __future__ import annotations

from collections.abc import Iterable

from astroshield.errors import UnsupportedMediaTypeError


def unsupported_media_type(media_type: str, accepted: Iterable[str]) -> UnsupportedMediaTypeError:
    """A 415 naming what was sent and listing what is read (also as ``accepted``)."""
    listed = sorted(accepted)
    return UnsupportedMediaTypeError(
        f"this operation reads a body of type {', '.join(listed)} (parameters such as "
        f"charset are ignored), not {media_type or 'an unlabelled body'}",
        extensions={"accepted": listed},
    )
