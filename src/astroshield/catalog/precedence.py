"""Which element set an organisation's analyses use when its overlay and the public catalog
both hold sets of an object (pure: no database).

An organisation's overlay set shadows the public sets whose epochs lie within
:data:`OVERLAY_PREFERENCE` at or after its own epoch: a public set takes over from the
overlay only once it is more than that much newer. The *effective history* of an object
for an organisation is every overlay set plus every public set not shadowed; the set in
force at a time is the newest effective set at or before it.
"""

from __future__ import annotations

import bisect
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Protocol, TypeVar

# An operator's own ephemeris is usually better than the public TLE for its spacecraft, and
# operators refresh it about daily; a public set newer by more than a day means the overlay
# is no longer being kept up (or the object maneuvered since), so the public one wins.
OVERLAY_PREFERENCE = timedelta(days=1)


class HasEpoch(Protocol):
    @property
    def epoch(self) -> datetime: ...


S = TypeVar("S", bound=HasEpoch)


def prefer(public: S | None, overlay: S | None) -> S | None:
    """Of the newest public and the newest overlay set (each at or before the same moment),
    the one in force."""
    if overlay is None:
        return public
    if public is None or public.epoch <= overlay.epoch + OVERLAY_PREFERENCE:
        return overlay
    return public


def earliest(public: S | None, overlay: S | None) -> S | None:
    """Of the earliest public and the earliest overlay set, the earliest effective one (the
    overlay on a tie, as a public set at an overlay's epoch is shadowed)."""
    if public is None or (overlay is not None and overlay.epoch <= public.epoch):
        return overlay
    return public


def effective_history(public: Sequence[S], overlay: Sequence[S]) -> list[S]:
    """Both inputs in ascending epoch; the effective history, ascending. ``overlay`` must
    include every overlay set within :data:`OVERLAY_PREFERENCE` before the first public set
    that matters, or that set would wrongly count as not shadowed."""
    if not overlay:
        return list(public)
    overlay_epochs = [item.epoch for item in overlay]
    kept: list[S] = []
    for item in public:
        at = bisect.bisect_right(overlay_epochs, item.epoch)
        newest_overlay = overlay_epochs[at - 1] if at else None
        if newest_overlay is None or item.epoch > newest_overlay + OVERLAY_PREFERENCE:
            kept.append(item)
    merged = [*overlay, *kept]
    merged.sort(key=lambda item: item.epoch)  # stable: an overlay stays before a public tie
    return merged
