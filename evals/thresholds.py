"""The threshold search both calibrations share: the cut between the scores that should pass and
those that should not, at least cost, the widest gap's middle on ties (then the lowest cut)."""

from __future__ import annotations

from itertools import pairwise


def choose_cut(should_pass: list[float], should_fail: list[float], fail_cost: int = 1) -> tuple[float, int, int]:
    """(threshold, passes missed, fails let through) minimising ``missed + fail_cost x let through``;
    the threshold is rounded to 3 places and the counts are at the rounded value."""
    values = sorted(set(should_pass) | set(should_fail))
    cuts = [values[0] - 0.01] + [(a + b) / 2 for a, b in pairwise(values)] + [values[-1] + 0.01]

    def cost(t: float) -> tuple[int, float, float]:
        missed = sum(s < t for s in should_pass)
        let_through = sum(s >= t for s in should_fail)
        below = max((v for v in values if v < t), default=0.0)
        above = min((v for v in values if v >= t), default=1.0)
        return fail_cost * let_through + missed, -(above - below), t

    best: float = min(cuts, key=cost)
    t = round(best, 3)
    return t, sum(s < t for s in should_pass), sum(s >= t for s in should_fail)
