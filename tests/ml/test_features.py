"""The feature rows the sequence models read: the along-track slope break (``hinge``) singles
out a small burn, and no window holds a break that needs sets after its end."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np

from astroshield.astro.dynamics.elements import ElementSet
from astroshield.ml.features import FEATURE_NAMES, HINGE_SETS, history_features, windows
from astroshield.ml.simulate import Event, apply_event, published_set
from tests.ml.support import NOISE

START = datetime(2024, 3, 1, tzinfo=UTC)
HINGE = FEATURE_NAMES.index("hinge")


def _daily_history(burn_day: int, dv_t_m_s: float, days: int = 80) -> list[ElementSet]:
    truth = ElementSet(
        catalog_number="80002",
        epoch=START,
        mean_motion_rev_per_day=14.3,
        eccentricity=0.001,
        inclination_deg=98.0,
        ra_of_asc_node_deg=40.0,
        arg_of_pericenter_deg=90.0,
        mean_anomaly_deg=10.0,
        bstar_per_earth_radius=0.0,
        mean_motion_dot_rev_per_day2=0.0,
        mean_motion_ddot_rev_per_day3=0.0,
    )
    rng = np.random.default_rng(7)
    burn = START + timedelta(days=burn_day, hours=5)
    sets = []
    for day in range(days):
        epoch = START + timedelta(days=day, hours=11)
        if epoch > burn and truth.epoch < burn:
            truth = apply_event(truth, Event(burn, "along_track", (0.0, dv_t_m_s, 0.0)))
        sets.append(published_set(truth, epoch, NOISE["LEO"], rng))
    return sets


def test_a_small_along_track_burn_is_the_largest_slope_break_of_the_history() -> None:
    features = history_features(_daily_history(burn_day=40, dv_t_m_s=0.003))
    burn_row = next(
        k for k, epoch in enumerate(features.epochs) if epoch > START + timedelta(days=40)
    )
    hinge = np.abs(features.values[:, HINGE])
    assert int(np.argmax(hinge)) == burn_row
    assert hinge[burn_row] > 3.0 * np.median(hinge[hinge > 0])


def test_no_window_holds_a_slope_break_that_needs_sets_after_its_end() -> None:
    features = history_features(_daily_history(burn_day=40, dv_t_m_s=0.05))
    batch = windows(features.values, 8)
    assert np.all(batch[:, 8 - (HINGE_SETS - 1) :, HINGE] == 0.0)
    assert np.any(batch[:, : 8 - (HINGE_SETS - 1), HINGE] != 0.0)
    # the older rows are the history's own rows, untouched
    np.testing.assert_array_equal(batch[5, 0], features.values[5].astype(np.float32))
