"""POST /ml/adversary-encoder/score: the scores are the serving library's for the same
history read from its file, TLE and OMM JSON alike; bad bodies are 422 problem+json naming
the field; the prediction counter moves."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

import httpx
from prometheus_client.parser import text_string_to_metric_families

from astroshield.astro.formats.element_files import read_element_set_file
from astroshield.astro.formats.omm import format_omm_json
from astroshield.ml.adversary_encoder import MODEL_VERSION, AdversaryEncoder
from tests.conftest import Factory
from tests.ml.support import SLICE_TLE
from tests.mlops.support import HISTORY_TLE, SCORE, ml_apps

PROBLEM = "application/problem+json"


def _reference() -> list[tuple[str, float]]:
    """The library's scores of the history file (the CLI's path: file reader, no HTTP)."""
    encoder = AdversaryEncoder.load()
    sets = read_element_set_file(SLICE_TLE, strict=True).sets
    return [(s.epoch.isoformat(), s.score) for s in encoder.score_history(sets)]


def _pairs(body: dict[str, Any]) -> list[tuple[str, float]]:
    return [
        (datetime.fromisoformat(item["epoch"]).isoformat(), item["score"]) for item in body["items"]
    ]


async def test_scores_of_tle_and_omm_histories_are_the_library_s(
    database_url: str, factory: Factory
) -> None:
    viewer = await factory.login(role="viewer")
    reference = _reference()
    omm = json.loads(format_omm_json(read_element_set_file(SLICE_TLE, strict=True).sets))
    async with ml_apps(database_url) as (replica,):
        tle = await replica.client.post(SCORE, json={"tle": HISTORY_TLE}, headers=viewer)
        records = await replica.client.post(SCORE, json={"omm": omm}, headers=viewer)
    assert tle.status_code == 200, tle.text
    assert records.status_code == 200, records.text
    body = tle.json()
    assert (body["model"], body["version"]) == ("adversary_encoder", MODEL_VERSION)
    assert body["threshold"] == AdversaryEncoder.load().threshold
    assert len(reference) > 150  # 200 sets, the first window's give context
    assert _pairs(body) == reference
    got_omm = _pairs(records.json())
    assert [epoch for epoch, _ in got_omm] == [epoch for epoch, _ in reference]
    # OMM carries the same elements as the TLEs (formatted from them): scores within
    # float32 inference noise.
    assert max(abs(a - b) for (_, a), (_, b) in zip(got_omm, reference, strict=True)) < 1e-3
    assert all(i["anomalous"] == (i["score"] > body["threshold"]) for i in body["items"])


async def test_bad_bodies_are_422_naming_the_field(database_url: str, factory: Factory) -> None:
    viewer = await factory.login(role="viewer")
    lines = HISTORY_TLE.splitlines()
    broken = "\n".join([*lines[:4], lines[4][:30] + "X" + lines[4][31:], *lines[5:]])
    second_object = "\n".join([*lines[:20], lines[20].replace("41335", "41336", 1), *lines[21:]])
    cases = {
        "neither": ({}, ["body"]),
        "both": ({"tle": HISTORY_TLE, "omm": [{}]}, ["body"]),
        "unknown member": ({"tle": HISTORY_TLE, "model": "x"}, ["body", "model"]),
        "omm not a list": ({"omm": "text"}, ["body", "omm"]),
        "bad set": ({"tle": broken}, ["body", "tle", "line 5"]),
        "second object": ({"tle": second_object}, ["body", "tle", "line 21"]),
        "too few": ({"tle": "\n".join(lines[:8])}, ["body", "tle"]),
        "bad omm": ({"omm": [{"OBJECT_NAME": "X"}]}, ["body", "omm"]),
    }
    async with ml_apps(database_url) as (replica,):
        for case, (payload, location) in cases.items():
            response = await replica.client.post(SCORE, json=payload, headers=viewer)
            assert response.status_code == 422, (case, response.text)
            assert response.headers["content-type"] == PROBLEM, case
            locations = [error["loc"] for error in response.json()["errors"]]
            assert any(loc[: len(location)] == location for loc in locations), (case, locations)


async def scrape(client: httpx.AsyncClient) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    response = await client.get("/metrics")
    assert response.status_code == 200
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(response.text)
        for sample in family.samples
    }


async def test_the_prediction_metrics_move(database_url: str, factory: Factory) -> None:
    viewer = await factory.login(role="viewer")
    labels = frozenset({("model", "adversary_encoder"), ("version", MODEL_VERSION)})
    counter = ("astroshield_ml_predictions_total", labels)
    latency = ("astroshield_ml_prediction_seconds_count", labels)
    async with ml_apps(database_url) as (replica,):
        before = await scrape(replica.client)
        for _ in range(2):
            ok = await replica.client.post(SCORE, json={"tle": HISTORY_TLE}, headers=viewer)
            assert ok.status_code == 200
        refused = await replica.client.post(SCORE, json={"tle": "nonsense"}, headers=viewer)
        assert refused.status_code == 422
        after = await scrape(replica.client)
    assert after[counter] - before.get(counter, 0.0) == 2
    assert after[latency] - before.get(latency, 0.0) == 2
