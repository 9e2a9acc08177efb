"""The one reading of a JSON request body.

Strict JSON (RFC 8259) only: no ``NaN`` or ``Infinity``, no number that overflows a double,
no lone UTF-16 surrogate (not Unicode, so neither a database nor an encoder can store it),
no NUL in any string (PostgreSQL text cannot hold it), and at most ``MAX_JSON_DEPTH`` levels
of nesting so that no later step recurses into an attacker's structure. Every refusal is a
422 naming where in the body the problem is.

The request guard (:mod:`astroshield.api.middleware`) applies it to every JSON body before a
handler sees it; handlers that read their body themselves call :func:`decode_json_body`.
"""

from __future__ import annotations

import json
import math
from typing import Any

import orjson

from astroshield.errors import FieldError, InvalidInputError

MAX_JSON_DEPTH = 64
# orjson refuses deeper documents by itself.
PARSER_MAX_DEPTH = 1024
_NUL_ESCAPE = b"\\u0000"
Location = list[str | int]


def _malformed(message: str) -> InvalidInputError:
    return InvalidInputError(
        "the body is not valid JSON", errors=[FieldError(["body"], f"malformed JSON: {message}")]
    )


def _refused(location: Location, problem: str) -> InvalidInputError:
    return InvalidInputError(
        f"invalid body: {problem}", errors=[FieldError(["body", *location], problem)]
    )


def _bad_string(text: str) -> str | None:
    if "\x00" in text:
        return "must not contain NUL characters"
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return "must be valid Unicode (a lone surrogate is not)"
    return None


def _first_problem(
    value: Any, *, max_depth: int, strings: bool, numbers: bool = False
) -> tuple[Location, str] | None:
    """Where the first container nested past ``max_depth`` levels is, or with ``strings``
    a bad string (key or value), with ``numbers`` a non-finite one; depth-first, with an
    explicit stack (no recursion)."""
    pending: list[tuple[Any, Location]] = [(value, [])]
    while pending:
        node, location = pending.pop()
        kind = type(node)
        if kind is str:
            problem = _bad_string(node)
            if problem:
                return location, problem
            continue
        if kind is float:
            if not math.isfinite(node):
                return location, "must be a finite number"
            continue
        if len(location) >= max_depth:
            return [], f"nested deeper than {max_depth} levels"
        items: Any = node.items() if kind is dict else enumerate(node)
        for key, child in items:
            if strings and type(key) is str and (problem := _bad_string(key)):
                return location, f"a key {problem}"
            kind = type(child)
            if (
                kind is dict
                or kind is list
                or (strings and kind is str)
                or (numbers and kind is float)
            ):
                pending.append((child, [*location, key]))
    return None


def _after_strict_reader_refused(
    body: bytes, exc: orjson.JSONDecodeError, *, non_finite_numbers: bool, max_depth: int
) -> Any:
    """The slow path of a rare body: Python's reader is laxer (NaN, Infinity, overflowing
    numbers, lone surrogates, deeper nesting), so it finds where the problem is."""
    try:
        value = json.loads(body, parse_constant=float)
    except RecursionError:
        raise _refused([], f"nested deeper than {max_depth} levels") from None
    except ValueError:  # JSONDecodeError, UnicodeDecodeError
        raise _malformed(str(exc)) from None
    found = _first_problem(value, max_depth=max_depth, strings=True, numbers=not non_finite_numbers)
    if found is not None:
        raise _refused(*found)
    if not non_finite_numbers:
        raise _malformed(str(exc))
    return value


def check_json_value(value: Any, *, body: bytes, max_depth: int | None = MAX_JSON_DEPTH) -> None:
    """Refuse a parsed body nested too deeply or holding a NUL (422 naming the place).

    The bytes decide whether the walk is needed at all: a body with no more brackets than
    the limit cannot nest past it, and a NUL can only arrive escaped.
    """
    deep = max_depth is not None and body.count(b"[") + body.count(b"{") > max_depth
    nul = _NUL_ESCAPE in body
    if not (deep or nul):
        return
    depth = max_depth if deep and max_depth is not None else PARSER_MAX_DEPTH + 1
    found = _first_problem(value, max_depth=depth, strings=nul)
    if found is not None:
        raise _refused(*found)


def decode_json_body(
    body: bytes, *, non_finite_numbers: bool = False, max_depth: int | None = MAX_JSON_DEPTH
) -> Any:
    """The body's JSON value, or a 422 problem saying what is wrong and where.

    ``non_finite_numbers`` also reads the ``NaN``/``Infinity`` literals some clients write
    (as floats), for a handler that names each bad value itself. ``max_depth=None`` leaves
    the depth to the parser's own bound (``PARSER_MAX_DEPTH``) and saves walking a large
    body: only for a handler that checks the body's shape without recursing into it.
    """
    try:
        value = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        return _after_strict_reader_refused(
            body,
            exc,
            non_finite_numbers=non_finite_numbers,
            max_depth=PARSER_MAX_DEPTH if max_depth is None else max_depth,
        )
    check_json_value(value, body=body, max_depth=max_depth)
    return value
