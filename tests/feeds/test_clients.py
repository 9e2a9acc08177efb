"""The provider clients against local servers that behave like the documented APIs."""

from __future__ import annotations

import httpx
import pytest
from pydantic import SecretStr

from astroshield.feeds.celestrak import CelesTrakClient
from astroshield.feeds.errors import CredentialsError, ProviderError, UnreachableError
from astroshield.feeds.http import RetryPolicy
from astroshield.feeds.omm import read_sets
from astroshield.feeds.ratelimit import SlidingWindowLimiter, Window
from astroshield.feeds.spacetrack import SpaceTrackClient
from tests.feeds.providers import CelesTrak, FakeClock, SpaceTrack, row_for, running
from tests.support.servers import free_port

FAST = RetryPolicy(attempts=3, base_delay_s=0.5, max_delay_s=4)


def spacetrack_client(
    http: httpx.AsyncClient, base: str, clock: FakeClock, **kwargs: object
) -> SpaceTrackClient:
    options: dict[str, object] = {"batch_size": 10, "refresh_interval_s": 3600.0, "policy": FAST}
    options.update(kwargs)
    password = options.pop("password", "correct horse battery staple")
    return SpaceTrackClient(
        http,
        "ops@example.org",
        SecretStr(str(password)),
        base_url=base,
        clock=clock,
        sleep=clock.sleep,
        **options,  # type: ignore[arg-type]
    )


async def test_hundred_batches_never_exceed_thirty_requests_a_minute() -> None:
    clock = FakeClock()
    provider = SpaceTrack(clock, gp={str(n): [row_for(str(n))] for n in range(1, 1001, 7)})
    async with running(provider) as base, httpx.AsyncClient() as http:
        client = spacetrack_client(http, base, clock)
        batches = [batch async for batch in client.gp([str(n) for n in range(1, 1001)])]
        await client.logout()
    assert len(batches) == 100
    assert sum(len(batch.rows()) for batch in batches) == len(provider.gp)
    times = [entry.time for entry in provider.log]
    assert len(times) == 102  # login, 100 queries, logout
    assert all(later - earlier >= 60 for earlier, later in zip(times, times[30:], strict=False))
    assert client.requests_made == 102  # so the server never answered 429


async def test_more_than_300_requests_are_spread_over_more_than_an_hour() -> None:
    clock = FakeClock()
    provider = SpaceTrack(clock)
    async with running(provider) as base, httpx.AsyncClient() as http:
        client = spacetrack_client(http, base, clock, batch_size=1)
        async for _ in client.gp([str(n) for n in range(1, 321)]):
            pass
    times = [entry.time for entry in provider.log]
    assert len(times) == 321  # login and 320 queries, no 429 retried
    assert all(b - a >= 3600 for a, b in zip(times, times[300:], strict=False))
    assert all(b - a >= 60 for a, b in zip(times, times[30:], strict=False))


async def test_limiter_never_allows_more_than_300_an_hour() -> None:
    clock = FakeClock()
    limiter = SlidingWindowLimiter(clock=clock, sleep=clock.sleep)
    times = []
    for _ in range(700):
        await limiter.acquire()
        times.append(clock())
    assert all(b - a >= 3600 for a, b in zip(times, times[300:], strict=False))
    assert all(b - a >= 60 for a, b in zip(times, times[30:], strict=False))
    assert times[-1] - times[0] < 3 * 3600  # and it does not wait longer than needed


def test_limiter_windows_are_configurable() -> None:
    limiter = SlidingWindowLimiter([Window(2, 10.0)], clock=lambda: 0.0)
    assert limiter.delay(0.0) == 0


async def test_429_waits_retry_after_and_500_is_retried() -> None:
    clock = FakeClock()
    provider = SpaceTrack(clock, gp={"25544": [row_for("25544")]}, inject=["429", "500"])
    async with running(provider) as base, httpx.AsyncClient() as http:
        client = spacetrack_client(http, base, clock)
        (batch,) = [batch async for batch in client.gp(["25544"])]
    assert [row["NORAD_CAT_ID"] for row in batch.rows()] == ["25544"]
    assert 7 in clock.slept  # the Retry-After of the 429
    assert len(provider.queries()) == 3  # 429, 500, then the answer


async def test_5xx_every_time_is_a_clear_error() -> None:
    clock = FakeClock()
    provider = SpaceTrack(clock, inject=["503"] * 5)
    async with running(provider) as base, httpx.AsyncClient() as http:
        client = spacetrack_client(http, base, clock)
        with pytest.raises(ProviderError, match=r"503 .* after 3 attempts"):
            await client.query("gp/NORAD_CAT_ID/1/format/json")


async def test_wrong_password_names_the_credentials_and_never_prints_the_password() -> None:
    clock = FakeClock()
    provider = SpaceTrack(clock)
    async with running(provider) as base, httpx.AsyncClient() as http:
        client = spacetrack_client(http, base, clock, password="hunter2-wrong")
        with pytest.raises(CredentialsError) as raised:
            await client.query("gp/NORAD_CAT_ID/1/format/json")
    message = str(raised.value)
    assert "ASTROSHIELD_SPACETRACK_PASSWORD" in message
    assert "hunter2" not in message and "hunter2" not in repr(client)
    assert not provider.queries()  # nothing asked without a session


async def test_401_on_a_query_is_a_credentials_error() -> None:
    clock = FakeClock()
    provider = SpaceTrack(clock)
    async with running(provider) as base, httpx.AsyncClient() as http:
        client = spacetrack_client(http, base, clock)
        await client.login()
        provider.sessions.clear()  # the provider ended the session
        with pytest.raises(CredentialsError, match="401"):
            await client.query("gp/NORAD_CAT_ID/1/format/json")


async def test_html_error_page_instead_of_json() -> None:
    clock = FakeClock()
    provider = SpaceTrack(clock, inject=["html"])
    async with running(provider) as base, httpx.AsyncClient() as http:
        client = spacetrack_client(http, base, clock)
        with pytest.raises(ProviderError, match=r"HTML page .*Maintenance"):
            await client.query("gp/NORAD_CAT_ID/1/format/json")


async def test_identical_query_is_not_repeated_within_the_refresh_interval() -> None:
    clock = FakeClock()
    provider = SpaceTrack(clock, gp={"5": [row_for("5")]})
    async with running(provider) as base, httpx.AsyncClient() as http:
        client = spacetrack_client(http, base, clock)
        first = [b async for b in client.gp(["5"])]
        again = [b async for b in client.gp(["5"])]
        clock.now += 3601
        later = [b async for b in client.gp(["5"])]
    assert first[0].text is not None and again[0].text is None and later[0].text is not None
    assert len(provider.queries()) == 2


async def test_unreachable_server_is_one_clear_error() -> None:
    clock = FakeClock()
    async with httpx.AsyncClient() as http:
        client = spacetrack_client(http, f"http://127.0.0.1:{free_port()}", clock)
        with pytest.raises(UnreachableError, match=r"no answer from http://127\.0\.0\.1"):
            await client.login()
    assert len(clock.slept) == 2  # backed off between the three attempts


async def test_missing_credentials_are_refused_before_any_request() -> None:
    async with httpx.AsyncClient() as http:
        with pytest.raises(CredentialsError, match="no credentials configured"):
            SpaceTrackClient(http, "", SecretStr(""))


async def test_celestrak_conditional_request_and_once_per_cycle() -> None:
    clock = FakeClock()
    body = '[{"NORAD_CAT_ID": 25544}]'
    provider = CelesTrak(groups={"stations&json": body})
    async with running(provider) as base, httpx.AsyncClient() as http:
        client = CelesTrakClient(http, base_url=base, clock=clock, sleep=clock.sleep)
        first = await client.gp(group="stations")
        within_cycle = await client.gp(group="stations")
        clock.now += 7201
        next_cycle = await client.gp(group="stations")
        provider.groups["stations&json"] = body.replace("25544", "25545")
        clock.now += 7201
        changed = await client.gp(group="stations")
    assert first.text == body
    assert within_cycle.recent and within_cycle.text is None
    assert next_cycle.not_modified and next_cycle.text is None
    assert changed.text is not None and "25545" in changed.text
    assert len(provider.log) == 3  # the query within the cycle was never sent
    assert provider.log[1][1]["if-none-match"].startswith('"')
    assert client.requests_made == 3


async def test_celestrak_by_catalog_number_and_no_data() -> None:
    provider = CelesTrak()
    async with running(provider) as base, httpx.AsyncClient() as http:
        client = CelesTrakClient(http, base_url=base)
        answer = await client.gp(catalog_number="99999")
    assert answer.text == "[]"
    assert "CATNR=99999" in provider.log[0][0]


def test_malformed_rows_are_skipped_with_a_count_and_alpha5_kept() -> None:
    import json

    rows = [
        row_for("25544"),
        row_for("A0001"),  # Alpha-5 as Space-Track may write it
        {**row_for("100002"), "NORAD_CAT_ID": 100002},  # a JSON number above 99999
        row_for("26000", MEAN_MOTION="fast"),
        row_for("26001", EPOCH="yesterday"),
    ]
    read = read_sets(json.dumps(rows), "json", "space-track:gp")
    assert sorted(item.catalog_number for item in read.sets) == ["100001", "100002", "25544"]
    assert read.skipped == 2
    assert "MEAN_MOTION" in read.reasons[0] and "EPOCH" in read.reasons[1]
