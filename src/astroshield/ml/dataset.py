"""Storage of simulated data sets: Parquet files and the data card (JSON and markdown).

``element_sets.parquet``: one row per published element set (object, regime, scenario, epoch,
the mean elements, ``event_since_previous`` and ``event_kind``); ``events.parquet``: one row per
event (time, kind, Δv in RTN, jump size); ``data_card.json`` and ``DATA_CARD.md``: generator
version, seed, counts, class balance, Δv ranges and the noise model with the real histories it
was estimated from.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path

from astroshield.astro.dynamics.elements import ElementSet
from astroshield.ml.noise_estimate import RegimeNoise, combine, history_noise
from astroshield.ml.simulate import (
    BREAKUP_DV_M_S,
    DV_RANGE_M_S,
    GENERATOR_VERSION,
    JUMP_KM,
    SimulatedHistory,
)

SETS_FILE = "element_sets.parquet"
EVENTS_FILE = "events.parquet"
CARD_JSON = "data_card.json"
CARD_MD = "DATA_CARD.md"


def write_dataset(
    directory: Path,
    histories: Sequence[SimulatedHistory],
    *,
    seed: int,
    noise: Mapping[str, RegimeNoise],
) -> dict[str, object]:
    """Write the sets and events as Parquet plus the data card; return the card."""
    import pyarrow as pa  # type: ignore[import-untyped]
    import pyarrow.parquet as pq  # type: ignore[import-untyped]

    directory.mkdir(parents=True, exist_ok=True)
    rows: dict[str, list[object]] = {name: [] for name in _SET_COLUMNS}
    for history in histories:
        for item, label, kind in zip(
            history.sets, history.labels, history.label_kinds, strict=True
        ):
            values = (
                history.object_index,
                item.catalog_number,
                history.regime,
                history.scenario,
                item.epoch,
                item.mean_motion_rev_per_day,
                item.eccentricity,
                item.inclination_deg,
                item.ra_of_asc_node_deg,
                item.arg_of_pericenter_deg,
                item.mean_anomaly_deg,
                item.bstar_per_earth_radius,
                label,
                kind,
            )
            for name, value in zip(_SET_COLUMNS, values, strict=True):
                rows[name].append(value)
    pq.write_table(pa.table(rows), directory / SETS_FILE)
    events: dict[str, list[object]] = {
        "object_index": [], "time": [], "kind": [], "dv_r_m_s": [], "dv_t_m_s": [],
        "dv_n_m_s": [], "jump_km": [],
    }  # fmt: skip
    for history in histories:
        for event in history.events:
            events["object_index"].append(history.object_index)
            events["time"].append(event.time)
            events["kind"].append(event.kind)
            events["dv_r_m_s"].append(event.dv_rtn_m_s[0])
            events["dv_t_m_s"].append(event.dv_rtn_m_s[1])
            events["dv_n_m_s"].append(event.dv_rtn_m_s[2])
            events["jump_km"].append(event.jump_km)
    pq.write_table(pa.table(events), directory / EVENTS_FILE)
    card = data_card(histories, seed=seed, noise=noise, sets_sha256=_sha256(directory / SETS_FILE))
    (directory / CARD_JSON).write_text(json.dumps(card, indent=2) + "\n", encoding="utf-8")
    (directory / CARD_MD).write_text(card_markdown(card), encoding="utf-8")
    return card


_SET_COLUMNS = (
    "object_index", "catalog_number", "regime", "scenario", "epoch", "mean_motion_rev_per_day",
    "eccentricity", "inclination_deg", "ra_of_asc_node_deg", "arg_of_pericenter_deg",
    "mean_anomaly_deg", "bstar_per_earth_radius", "event_since_previous", "event_kind",
)  # fmt: skip


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def data_card(
    histories: Sequence[SimulatedHistory],
    *,
    seed: int,
    noise: Mapping[str, RegimeNoise],
    sets_sha256: str,
) -> dict[str, object]:
    labels = [label for h in histories for label in h.labels]
    kinds: dict[str, int] = {}
    for history in histories:
        for kind in history.label_kinds:
            if kind:
                kinds[kind] = kinds.get(kind, 0) + 1
    objects: dict[str, int] = {}
    for history in histories:
        key = f"{history.regime}/{history.scenario}"
        objects[key] = objects.get(key, 0) + 1
    return {
        "generator": "astroshield.ml.simulate",
        "generator_version": GENERATOR_VERSION,
        "seed": seed,
        "objects": len(histories),
        "element_sets": len(labels),
        "objects_by_regime_and_scenario": dict(sorted(objects.items())),
        "class_balance": {
            "event_since_previous": sum(labels),
            "no_event": len(labels) - sum(labels),
            "positive_share": sum(labels) / len(labels) if labels else 0.0,
            "positive_sets_by_kind": dict(sorted(kinds.items())),
        },
        "dv_ranges_m_s": DV_RANGE_M_S,
        "breakup_dv_m_s": list(BREAKUP_DV_M_S),
        "element_jump_km": list(JUMP_KM),
        "noise_model": {regime: model.as_dict() for regime, model in noise.items()},
        "noise_check": noise_check(histories),
        "files": {SETS_FILE: sets_sha256, EVENTS_FILE: "see file"},
        "label": "event_since_previous: an event (manoeuvre, breakup, element jump) happened "
        "after the previous set's epoch and at or before this one",
    }


def noise_check(histories: Sequence[SimulatedHistory]) -> dict[str, dict[str, float]]:
    """The same estimate run on the simulated nominal objects (median per regime): how
    closely the simulated scatter reproduces the real one it was drawn from."""
    by_regime: dict[str, list[RegimeNoise]] = {}
    for history in histories:
        if history.scenario == "nominal" and len(history.sets) > 11:
            model = history_noise(str(history.object_index), history.sets)
            by_regime.setdefault(history.regime, []).append(model)
    return {
        regime: {
            key: float(getattr(combine(models), key))
            for key in (
                "sigma_a_km",
                "sigma_e",
                "sigma_inclination_rad",
                "sigma_node_rad",
                "sigma_along_km",
                "outlier_fraction",
            )
        }
        for regime, models in sorted(by_regime.items())
    }


def card_markdown(card: Mapping[str, object]) -> str:
    noise = card["noise_model"]
    assert isinstance(noise, dict)
    lines = [
        "# Simulated element-set histories (data card)",
        "",
        f"- Generator: `{card['generator']}` version {card['generator_version']}, "
        f"seed {card['seed']}",
        f"- Objects: {card['objects']}; element sets: {card['element_sets']}",
        f"- Objects by regime/scenario: `{json.dumps(card['objects_by_regime_and_scenario'])}`",
        f"- Class balance: `{json.dumps(card['class_balance'])}`",
        f"- Δv ranges (m/s, log-uniform): `{json.dumps(card['dv_ranges_m_s'])}`; breakup "
        f"{card['breakup_dv_m_s']} m/s; element jumps {card['element_jump_km']} km",
        f"- Label: {card['label']}",
        "",
        "## Noise model (estimated from the real histories, per set, 1 sigma)",
        "",
        "Estimated by `astroshield.ml.noise_estimate` (robust scatter of the consecutive-set "
        "jumps / sqrt(2), outliers = share of jumps beyond 5 robust sigmas, spacing quantiles). "
        "The last rows run the same estimate on the simulated nominal objects: the simulated "
        "scatter comes out 1.2-1.5x the real one (the 5x outliers widen the MAD), with fewer "
        "outliers than the catalogue's heavy tails.",
        "",
        "| regime | histories | a (m) | e | i (deg) | sin(i)·ΔΩ (deg) | along (km) | outliers "
        "| median spacing (d) |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for regime, model in noise.items():
        spacing = model["spacing_days_quantiles"]
        lines.append(
            f"| {regime} | {', '.join(model['histories'])} | {model['sigma_a_km'] * 1000:.2f} "
            f"| {model['sigma_e']:.2e} | {math.degrees(model['sigma_inclination_rad']):.2e} "
            f"| {math.degrees(model['sigma_node_rad']):.2e} | {model['sigma_along_km']:.3f} "
            f"| {model['outlier_fraction']:.3f} x{model['outlier_factor']:.0f} "
            f"| {spacing[len(spacing) // 2]:.3f} |"
        )
    check = card.get("noise_check", {})
    assert isinstance(check, dict)
    for regime, model in check.items():
        lines.append(
            f"| {regime}, re-estimated on the simulated nominal objects | | "
            f"{model['sigma_a_km'] * 1000:.2f} | {model['sigma_e']:.2e} "
            f"| {math.degrees(model['sigma_inclination_rad']):.2e} "
            f"| {math.degrees(model['sigma_node_rad']):.2e} | {model['sigma_along_km']:.3f} "
            f"| {model['outlier_fraction']:.3f} | |"
        )
    return "\n".join(lines) + "\n"


def load_dataset(directory: Path) -> list[SimulatedHistory]:
    """The histories written by :func:`write_dataset` (events not re-read)."""
    import pyarrow.parquet as pq

    table = pq.read_table(directory / SETS_FILE).to_pydict()
    grouped: dict[int, list[int]] = {}
    for row, index in enumerate(table["object_index"]):
        grouped.setdefault(int(index), []).append(row)
    histories = []
    for index, rows in sorted(grouped.items()):
        sets = tuple(
            ElementSet(
                catalog_number=str(table["catalog_number"][r]),
                epoch=_utc(table["epoch"][r]),
                mean_motion_rev_per_day=float(table["mean_motion_rev_per_day"][r]),
                eccentricity=float(table["eccentricity"][r]),
                inclination_deg=float(table["inclination_deg"][r]),
                ra_of_asc_node_deg=float(table["ra_of_asc_node_deg"][r]),
                arg_of_pericenter_deg=float(table["arg_of_pericenter_deg"][r]),
                mean_anomaly_deg=float(table["mean_anomaly_deg"][r]),
                bstar_per_earth_radius=float(table["bstar_per_earth_radius"][r]),
                mean_motion_dot_rev_per_day2=0.0,
                mean_motion_ddot_rev_per_day3=0.0,
            )
            for r in rows
        )
        first = rows[0]
        histories.append(
            SimulatedHistory(
                object_index=index,
                regime=str(table["regime"][first]),
                scenario=str(table["scenario"][first]),
                sets=sets,
                labels=tuple(bool(table["event_since_previous"][r]) for r in rows),
                label_kinds=tuple(str(table["event_kind"][r]) for r in rows),
                events=(),
            )
        )
    return histories


def dataset_sha256(directory: Path) -> str:
    return _sha256(directory / SETS_FILE)


def _utc(value: object) -> datetime:
    assert isinstance(value, datetime)
    return value if value.tzinfo else value.replace(tzinfo=UTC)
