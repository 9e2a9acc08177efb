"""Ground track: sub-satellite geodetic latitude, longitude and height, and a PNG plot of it.

SGP4 (TEME) states are rotated to ITRF (:func:`astroshield.astro.dynamics.frames.teme_to_itrf`) and
converted to WGS84 geodetic coordinates. Where SGP4 reports an error the point has no position
(NaN) and its code is kept in ``error_codes``; plotting segments skip such points and are also
split where the track crosses the antimeridian, so a line is never drawn across the map.

The plot is a plain equirectangular latitude/longitude grid (no coastlines, which would need a
map data set) drawn with matplotlib's object API on the Agg canvas: no pyplot global state, so
it is safe to call from several threads of a web server.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from numpy.typing import NDArray

from astroshield.astro.dynamics.frames import itrf_to_geodetic, teme_to_itrf
from astroshield.astro.dynamics.propagation import Satellite, TimesLike, julian_dates, propagate

__all__ = ["GroundTrack", "StationMarker", "ground_track", "ground_track_plot"]

FloatArray = NDArray[np.float64]

# A jump of more than half the globe between consecutive samples is a wrap at ±180°, not motion
# (no satellite moves 180° of longitude between samples taken a sensible step apart).
_WRAP_JUMP_DEG = 180.0
_UNIX_EPOCH_JD = 2440587.5


@dataclass(frozen=True)
class GroundTrack:
    """Sub-satellite points at ``times`` (datetime64[us], UTC); NaN where SGP4 failed."""

    times: NDArray[np.datetime64]
    latitude_deg: FloatArray
    longitude_deg: FloatArray
    altitude_km: FloatArray
    error_codes: NDArray[np.uint8]

    @property
    def valid(self) -> NDArray[np.bool_]:
        return np.asarray(self.error_codes == 0)

    def segments(self) -> list[slice]:
        """Index ranges of continuous valid track, split at the antimeridian and at failures."""
        valid = self.valid
        breaks = np.zeros(len(self.times), dtype=bool)
        if len(self.times) > 1:
            jumps = np.abs(np.diff(self.longitude_deg)) > _WRAP_JUMP_DEG
            breaks[1:] = jumps | ~valid[:-1]
        segments: list[slice] = []
        start: int | None = None
        for index in range(len(self.times)):
            if not valid[index]:
                if start is not None:
                    segments.append(slice(start, index))
                start = None
                continue
            if start is None:
                start = index
            elif breaks[index]:
                segments.append(slice(start, index))
                start = index
        if start is not None:
            segments.append(slice(start, len(self.times)))
        return segments

    def decimated(self, max_points: int) -> GroundTrack:
        """Every k-th point (first and last kept) so that at most ``max_points`` remain."""
        if max_points < 2:
            raise ValueError("max_points must be at least 2")
        count = len(self.times)
        if count <= max_points:
            return self
        stride = int(np.ceil((count - 1) / (max_points - 1)))
        index = np.arange(0, count, stride)
        if index[-1] != count - 1:
            index = np.append(index, count - 1)
        return GroundTrack(
            times=self.times[index],
            latitude_deg=self.latitude_deg[index],
            longitude_deg=self.longitude_deg[index],
            altitude_km=self.altitude_km[index],
            error_codes=self.error_codes[index],
        )


@dataclass(frozen=True)
class StationMarker:
    """A labelled point to mark on the map (a ground station)."""

    latitude_deg: float
    longitude_deg: float
    label: str | None = None


def ground_track(satellite: Satellite, times: TimesLike) -> GroundTrack:
    """Propagate one object with SGP4 and return its WGS84 sub-satellite track."""
    result = propagate([satellite], times)
    codes = result.error_codes[0]
    instants = _as_datetime64(times)
    latitude = np.full(len(codes), np.nan)
    longitude = np.full(len(codes), np.nan)
    altitude = np.full(len(codes), np.nan)
    ok = codes == 0
    if ok.any():
        r_itrf, _ = teme_to_itrf(result.r_km[0][ok], result.v_km_s[0][ok], instants[ok])
        lat, lon, height = itrf_to_geodetic(np.atleast_2d(r_itrf))
        latitude[ok] = np.degrees(lat)
        longitude[ok] = np.degrees(lon)
        altitude[ok] = height
    return GroundTrack(instants, latitude, longitude, altitude, codes.copy())


def _as_datetime64(times: TimesLike) -> NDArray[np.datetime64]:
    dates = julian_dates(times)
    days = (dates.whole - _UNIX_EPOCH_JD) + dates.fraction
    return np.round(days * 86_400_000_000).astype(np.int64).astype("datetime64[us]")


def ground_track_plot(
    track: GroundTrack,
    path_or_buffer: str | Path | IO[bytes],
    *,
    title: str | None = None,
    stations: Sequence[StationMarker] = (),
) -> None:
    """Write the track as a PNG on an equirectangular grid, start and end marked."""
    figure = Figure(figsize=(10, 5.4), dpi=100)
    FigureCanvasAgg(figure)
    axes = figure.add_subplot()
    axes.set_xlim(-180, 180)
    axes.set_ylim(-90, 90)
    axes.set_xticks(np.arange(-180, 181, 30))
    axes.set_yticks(np.arange(-90, 91, 30))
    axes.grid(True, alpha=0.3)
    axes.set_aspect("equal")
    axes.set_xlabel("longitude [deg]")
    axes.set_ylabel("latitude [deg]")
    for segment in track.segments():
        axes.plot(
            track.longitude_deg[segment], track.latitude_deg[segment], color="tab:blue", lw=1.2
        )
    valid = np.flatnonzero(track.valid)
    if valid.size:
        first, last = int(valid[0]), int(valid[-1])
        axes.plot(
            track.longitude_deg[first],
            track.latitude_deg[first],
            marker="o",
            color="tab:green",
            ls="none",
            label=f"start {np.datetime_as_string(track.times[first], unit='s')}Z",
        )
        axes.plot(
            track.longitude_deg[last],
            track.latitude_deg[last],
            marker="s",
            color="tab:red",
            ls="none",
            label=f"end {np.datetime_as_string(track.times[last], unit='s')}Z",
        )
    for station in stations:
        axes.plot(station.longitude_deg, station.latitude_deg, marker="^", color="black")
        if station.label:
            axes.annotate(
                station.label,
                (station.longitude_deg, station.latitude_deg),
                textcoords="offset points",
                xytext=(4, 4),
                fontsize=8,
            )
    if valid.size:
        axes.legend(loc="lower left", fontsize=8)
    axes.set_title(title or "Ground track")
    figure.tight_layout()
    target = str(path_or_buffer) if isinstance(path_or_buffer, Path) else path_or_buffer
    figure.savefig(target, format="png")
