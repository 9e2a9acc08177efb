"""The overlay precedence rule on its own: which of an organisation's overlay sets and the
public sets its analyses use."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from astroshield.catalog.precedence import (
    earliest,
    effective_history,
    prefer,
)

T0 = datetime(2024, 11, 1, tzinfo=UTC)


@dataclass(frozen=True)
class Set:
    name: str
    hours: float

    @property
    def epoch(self) -> datetime:
        return T0 + timedelta(hours=self.hours)


def test_an_overlay_set_holds_until_a_public_set_is_more_than_a_day_newer() -> None:
    overlay = Set("overlay", 0)
    assert prefer(Set("same epoch", 0), overlay) is overlay
    assert prefer(Set("a day newer", 24), overlay) is overlay
    newer = Set("a day and a second newer", 24 + 1 / 3600)
    assert prefer(newer, overlay) is newer
    older = Set("older", -5)
    assert prefer(older, overlay) is overlay
    assert prefer(older, None) is older and prefer(None, overlay) is overlay
    assert prefer(None, None) is None
    assert earliest(Set("public", 0), Set("overlay", 0)).name == "overlay"
    assert earliest(Set("public", -1), Set("overlay", 0)).name == "public"


def test_the_effective_history_drops_the_public_sets_an_overlay_shadows() -> None:
    public = [Set(f"p{h}", h) for h in (-30, -2, 0, 6, 24, 25, 60)]
    overlay = [Set("o0", 0), Set("o50", 50)]
    names = [item.name for item in effective_history(public, overlay)]
    assert names == ["p-30", "p-2", "o0", "p25", "o50"]
    assert effective_history(public, []) == public
