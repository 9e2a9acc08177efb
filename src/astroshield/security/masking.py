"""Redaction of secrets and PII before anything is written out (logs, traces, errors).

Two nets: values under a sensitive key are replaced whatever they are, and free text is
scanned for things that look like credentials or contact data (JWTs, bearer tokens,
e-mail addresses, phone numbers, key material), however deeply nested.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

REDACTED = "[REDACTED]"
_SENSITIVE_KEY = re.compile(
    r"(pass(word|wd|phrase)?|secret|token|authori[sz]ation|cookie|api[-_]?key|private|"
    r"credential|session|csrf|e[-_]?mail|phone|mobile|full[-_]?name|^name$|ciphertext|"
    r"email_index|pii)",
    re.IGNORECASE,
)
_PATTERNS = [
    # Credentials inside URLs (scheme://user:password@host), before the e-mail rule
    # would take "password@host" for an address.
    re.compile(r"(?<=://)[^/\s:@]+:[^/\s@]+(?=@)"),
    # JWS/JWT: three base64url parts, the first two starting with '{"' encoded (eyJ).
    re.compile(r"eyJ[A-Za-z0-9_-]{5,}\.eyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]*"),
    re.compile(r"(?i)\b(bearer|basic)\s+[A-Za-z0-9._~+/=-]{8,}"),
    re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}"),
    re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----[\s\S]*?-----END [A-Z ]*PRIVATE KEY-----"),
    # Our own PII envelope tokens (v1.<kek>.<wrapped>.<nonce>.<ciphertext>).
    re.compile(r"\bv1\.[A-Za-z0-9_-]{1,32}\.[A-Za-z0-9_-]{20,}\.[A-Za-z0-9_-]{16}\.[A-Za-z0-9_-]+"),
    # Phone numbers: + and 8-15 digits with common separators.
    re.compile(r"(?<![\w.])\+\d[\d ()./-]{7,18}\d(?![\w.])"),
]

_MAX_DEPTH = 12


def mask_text(text: str) -> str:
    for pattern in _PATTERNS:
        text = pattern.sub(REDACTED, text)
    return text


def mask(value: Any, *, _depth: int = 0) -> Any:
    """A copy of ``value`` with sensitive keys and sensitive-looking text redacted."""
    if _depth > _MAX_DEPTH:
        return REDACTED
    if isinstance(value, str):
        return mask_text(value)
    if isinstance(value, Mapping):
        return {
            key: REDACTED
            if isinstance(key, str) and _SENSITIVE_KEY.search(key)
            else mask(item, _depth=_depth + 1)
            for key, item in value.items()
        }
    if isinstance(value, list | tuple | set | frozenset):
        masked = [mask(item, _depth=_depth + 1) for item in value]
        return type(value)(masked) if not isinstance(value, list) else masked
    if isinstance(value, bytes):
        return mask_text(value.decode("utf-8", "replace"))
    if isinstance(value, BaseException):
        return f"{type(value).__name__}: {mask_text(str(value))}"
    return value
