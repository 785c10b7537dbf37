"""What a benchmark reports: a figure beside a baseline measured in the same run."""

from __future__ import annotations

import statistics
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class Result:
    """One measured figure.

    ``ratio`` = value / baseline (for rates; for latencies the ratio reads "times the
    raw figure"). ``goal`` says in words what the issue asked for, ``met`` whether it
    was met (None when there is no goal).
    """

    group: str
    name: str
    value: float
    unit: str
    baseline_name: str = ""
    baseline: float | None = None
    goal: str = ""
    met: bool | None = None
    note: str = ""
    n: int | None = None  # samples behind a percentile (a p99 wants n ≥ 1,000)
    rounds: int | None = None  # interleaved rounds behind a median ratio
    spread: tuple[float, float] | None = None  # lowest and highest round's ratio
    ratio_of_rounds: float | None = None  # set when the ratio is the median of rounds' ratios

    @property
    def ratio(self) -> float | None:
        if self.ratio_of_rounds is not None:
            return self.ratio_of_rounds
        if self.baseline in (None, 0):
            return None
        return self.value / self.baseline  # type: ignore[operator]

    @classmethod
    def of_rounds(cls, group: str, name: str, got: Interleaved, unit: str, baseline_name: str,
                  goal: str = "", met: bool | None = None, note: str = "") -> Result:
        """A figure measured in interleaved rounds: medians, median ratio and its spread."""
        return cls(group, name, got.value, unit, baseline_name, got.baseline, goal, met, note,
                   rounds=len(got.values), spread=got.spread, ratio_of_rounds=got.ratio)


def percentile(samples: list[float], p: float) -> float:
    ordered = sorted(samples)
    if not ordered:
        return float("nan")
    k = max(0, min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1))))
    return ordered[k]


def median(samples: list[float]) -> float:
    return statistics.median(samples)


@dataclass(frozen=True)
class Interleaved:
    """A figure and its baseline measured in alternating rounds: the medians, and the
    ratio as the median of the rounds' ratios with its spread (this machine's speed drifts
    between seconds, so a baseline measured once says little about the figure beside it)."""

    values: list[float]
    baselines: list[float]

    @property
    def value(self) -> float:
        return median(self.values)

    @property
    def baseline(self) -> float:
        return median(self.baselines)

    @property
    def ratios(self) -> list[float]:
        return [v / b for v, b in zip(self.values, self.baselines, strict=True) if b]

    @property
    def ratio(self) -> float:
        return median(self.ratios)

    @property
    def spread(self) -> tuple[float, float]:
        return (min(self.ratios), max(self.ratios))


def interleave(rounds: int, figure: Callable[[int], float], baseline: Callable[[int], float]) -> Interleaved:
    """Run ``baseline(i)`` and ``figure(i)`` alternately for ``rounds`` rounds."""
    values, baselines = [], []
    for i in range(rounds):
        baselines.append(baseline(i))
        values.append(figure(i))
    return Interleaved(values, baselines)
