"""Uncertainty of rates and counts, so a report never calls noise a change."""

from __future__ import annotations

import math

Z95 = 1.959963984540054  # two-sided 95% normal quantile


def wilson(successes: int, trials: int, z: float = Z95) -> tuple[float, float] | None:
    """The Wilson score interval of ``successes / trials``; None when it is not a proportion
    (no trials, or more successes than trials, as a period-basis flow ratio can have)."""
    if trials <= 0 or not 0 <= successes <= trials:
        return None
    p = successes / trials
    z2 = z * z
    centre = (p + z2 / (2 * trials)) / (1 + z2 / trials)
    half = z * math.sqrt(p * (1 - p) / trials + z2 / (4 * trials * trials)) / (1 + z2 / trials)
    # The ends are exact (0/n has lower bound 0, n/n upper bound 1); floats would miss by 1e-16.
    lo = 0.0 if successes == 0 else max(0.0, centre - half)
    hi = 1.0 if successes == trials else min(1.0, centre + half)
    return lo, hi


def count_interval(count: int, z: float = Z95) -> tuple[float, float]:
    """An approximate 95% interval for a Poisson count (normal approximation, floored at 0)."""
    half = z * math.sqrt(count)
    return max(0.0, count - half), count + half


def cost_interval(spend: float, count: int) -> tuple[float, float] | None:
    """Spend divided by the count's interval: how far a cost per lead/stage can move by chance
    alone. None without a count (the cost is undefined)."""
    if count <= 0:
        return None
    lo, hi = count_interval(count)
    return spend / hi, (spend / lo if lo > 0 else math.inf)


def overlap(a: tuple[float, float] | None, b: tuple[float, float] | None) -> bool:
    """True when the intervals cannot tell the two values apart (or one is unknown)."""
    if a is None or b is None:
        return True
    return a[0] <= b[1] and b[0] <= a[1]


def ratio_interval(num: int, den: int, z: float = Z95) -> tuple[float, float] | None:
    """An approximate 95% interval for a ratio of two Poisson counts (clicks per impression,
    leads per click or visit), by the delta method on its logarithm: the log of the ratio
    has variance about 1/num + 1/den. A zero numerator gets the upper bound z²/den."""
    if den <= 0 or num < 0:
        return None
    if num == 0:
        return 0.0, z * z / den
    ratio, spread = num / den, z * math.sqrt(1 / num + 1 / den)
    return ratio * math.exp(-spread), ratio * math.exp(spread)


def revenue_interval(revenue: float, squares: float, z: float = Z95) -> tuple[float, float]:
    """An approximate 95% interval for revenue as a compound-Poisson sum: deals arrive as a
    Poisson count, each with its value, so the variance is the sum of squared values."""
    half = z * math.sqrt(max(squares, 0.0))
    return max(0.0, revenue - half), revenue + half


def mean_interval(
    total: float, squares: float, n: int, z: float = Z95
) -> tuple[float, float] | None:
    """An approximate 95% interval for a mean value (the average deal) from its sum and sum
    of squares over ``n`` values; None below two values."""
    if n < 2:
        return None
    mean = total / n
    variance = max(squares - n * mean * mean, 0.0) / (n - 1)
    half = z * math.sqrt(variance / n)
    return mean - half, mean + half
