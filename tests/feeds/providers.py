"""Local stand-ins for CelesTrak and Space-Track that behave like their documented APIs:
Space-Track's login (``{"Login": "Failed"}`` for a wrong password), its session cookie
(queries without it are 401), its query paths, 429 with Retry-After beyond 30 requests a
minute, and injectable answers (a 500 once, an HTML error page); CelesTrak's ``gp.php``
with an ETag and 304 for a matching ``If-None-Match``.

Request times are taken from a :class:`FakeClock` shared with the client's rate limiter,
so a test of the 30-per-minute rule runs in milliseconds and is checked on the server's
own log."""

from __future__ import annotations

import asyncio
import csv
import hashlib
import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import parse_qs

from fastapi import FastAPI, Request, Response
from fastapi.responses import HTMLResponse, JSONResponse, PlainTextResponse

from tests.support.servers import serving

SAMPLE_CSV = Path(__file__).resolve().parents[1] / "data" / "feeds" / "celestrak_sample.csv"
HTML_ERROR = (
    "<!DOCTYPE html><html><head><title>Space-Track.org - Maintenance</title></head>"
    "<body>down for maintenance</body></html>"
)


class FakeClock:
    """Seconds since the epoch that move only when someone sleeps."""

    def __init__(self, start: float = 1_733_500_000.0) -> None:
        self.now = start
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += max(0.0, seconds)
        await asyncio.sleep(0)


def sample_rows() -> list[dict[str, str]]:
    with SAMPLE_CSV.open(newline="") as handle:
        return list(csv.DictReader(handle))


def row_for(
    number: str, epoch: str = "2024-10-31T12:00:00.000000", **fields: str
) -> dict[str, str]:
    """A Space-Track style GP row (every value a string) for a made-up object."""
    base = dict(sample_rows()[5])  # EXPLORER 7, a LEO object
    base.update(
        {
            "NORAD_CAT_ID": number,
            "OBJECT_NAME": f"OBJECT {number}",
            "EPOCH": epoch,
            "CCSDS_OMM_VERS": "3.0",
            "COMMENT": "GENERATED VIA SPACE-TRACK.ORG API",
            "TLE_LINE0": f"0 OBJECT {number}",
        }
    )
    base.update(fields)
    return base


@dataclass
class Logged:
    time: float
    method: str
    path: str


@dataclass
class SpaceTrack:
    clock: FakeClock
    identity: str = "ops@example.org"
    password: str = "correct horse battery staple"
    per_minute: int = 30
    gp: dict[str, list[dict[str, str]]] = field(default_factory=dict)
    gp_history: dict[str, list[dict[str, str]]] = field(default_factory=dict)
    cdms: list[dict[str, str]] = field(default_factory=list)  # cdm_public rows
    cdm_messages: dict[str, str] = field(default_factory=dict)  # CDM_ID -> CCSDS KVN
    inject: list[str] = field(default_factory=list)  # "500", "429", "html" for the next queries
    log: list[Logged] = field(default_factory=list)
    sessions: set[str] = field(default_factory=set)

    def queries(self) -> list[Logged]:
        return [entry for entry in self.log if entry.path.startswith("/basicspacedata")]

    def app(self) -> FastAPI:
        api = FastAPI()

        @api.middleware("http")
        async def record(request: Request, call_next):  # type: ignore[no-untyped-def]
            now = self.clock()
            self.log.append(Logged(now, request.method, request.url.path))
            recent = [e for e in self.log if e.time > now - 60]
            if len(recent) > self.per_minute:
                return JSONResponse(
                    {"error": "rate limit exceeded"}, status_code=429, headers={"Retry-After": "60"}
                )
            return await call_next(request)

        @api.post("/ajaxauth/login")
        async def login(request: Request) -> Response:
            form = parse_qs((await request.body()).decode())
            given = (form.get("identity", [""])[0], form.get("password", [""])[0])
            if given != (self.identity, self.password):
                return JSONResponse({"Login": "Failed"})
            token = secrets.token_hex(8)
            self.sessions.add(token)
            response = PlainTextResponse('""')
            response.set_cookie("chocolatechip", token)
            return response

        @api.get("/ajaxauth/logout")
        async def logout(request: Request) -> Response:
            self.sessions.discard(request.cookies.get("chocolatechip", ""))
            return PlainTextResponse('"Successfully logged out"')

        @api.get("/basicspacedata/query/class/{rest:path}")
        async def query(request: Request, rest: str) -> Response:
            if request.cookies.get("chocolatechip") not in self.sessions:
                return JSONResponse({"error": "You must be logged in"}, status_code=401)
            if self.inject:
                return self._injected(self.inject.pop(0))
            return self._answer(rest)

        return api

    @staticmethod
    def _injected(what: str) -> Response:
        if what == "html":
            return HTMLResponse(HTML_ERROR)
        if what == "429":
            return JSONResponse({}, status_code=429, headers={"Retry-After": "7"})
        return PlainTextResponse("Internal Server Error", status_code=int(what))

    def _answer(self, rest: str) -> Response:
        parts = rest.split("/")
        kind, predicates = parts[0], dict(zip(parts[1::2], parts[2::2], strict=False))
        if kind in ("gp", "gp_history"):
            table = self.gp if kind == "gp" else self.gp_history
            numbers = predicates["NORAD_CAT_ID"].split(",")
            return JSONResponse([row for n in numbers for row in table.get(n, [])])
        if kind == "cdm":
            message = self.cdm_messages.get(predicates["CDM_ID"])
            return PlainTextResponse(message or "")
        if kind == "cdm_public":
            (column, listed), *_ = predicates.items()
            wanted = set(listed.split(","))
            return JSONResponse([row for row in self.cdms if row[column] in wanted])
        return JSONResponse({"error": f"unknown class {kind}"}, status_code=400)


@dataclass
class CelesTrak:
    groups: dict[str, str] = field(default_factory=dict)  # "GROUP&FORMAT" -> body
    log: list[tuple[str, dict[str, str]]] = field(default_factory=list)

    def app(self) -> FastAPI:
        api = FastAPI()

        @api.get("/NORAD/elements/gp.php")
        async def gp(request: Request) -> Response:
            self.log.append((str(request.url.query), dict(request.headers)))
            params = request.query_params
            key = f"{params.get('GROUP') or params.get('CATNR')}&{params.get('FORMAT')}"
            body = self.groups.get(key)
            if body is None:
                return PlainTextResponse("No GP data found")
            etag = '"' + hashlib.sha256(body.encode()).hexdigest()[:16] + '"'
            if request.headers.get("if-none-match") == etag:
                return Response(status_code=304, headers={"ETag": etag})
            media = "application/json" if params.get("FORMAT") == "json" else "text/csv"
            return Response(body, media_type=media, headers={"ETag": etag})

        return api


@asynccontextmanager
async def running(provider: SpaceTrack | CelesTrak) -> AsyncIterator[str]:
    async with serving(provider.app()) as base:
        yield base
