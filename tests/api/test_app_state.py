"""The typed application state: domain components found by their type."""

from __future__ import annotations

import pytest

from astroshield.api.state import AppState
from astroshield.cache import TTLCache


class Hub:
    pass


def test_a_component_is_found_by_its_type_and_by_its_name() -> None:
    state = AppState()
    hub = Hub()
    state.provide("telemetry_hub", hub)
    assert state.component(Hub) is hub
    assert state.telemetry_hub is hub


def test_a_replaced_attribute_is_what_the_type_finds() -> None:
    state = AppState()
    state.provide("telemetry_hub", Hub())
    replacement = Hub()
    state.telemetry_hub = replacement  # as a test swaps a component
    assert state.component(Hub) is replacement


def test_a_generic_alias_is_registered_under_its_own_name() -> None:
    cache_type = TTLCache[str, int]
    state = AppState()
    cache: TTLCache[str, int] = TTLCache(ttl_s=1.0, max_entries=1)
    state.provide("status_cache", cache, kind=cache_type)
    assert state.component(cache_type) is cache


def test_a_component_of_the_wrong_type_is_refused() -> None:
    state = AppState()
    state.provide("telemetry_hub", Hub())
    state.telemetry_hub = object()
    with pytest.raises(TypeError, match="telemetry_hub"):
        state.component(Hub)


def test_an_unwired_component_is_a_key_error() -> None:
    with pytest.raises(KeyError):
        AppState().component(Hub)
