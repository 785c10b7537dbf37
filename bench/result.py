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

    @classmethod
    def of_samples(cls, group: str, name: str, got: Samples, p: float, unit: str, baseline_name: str,
                   goal: str = "", met: bool | None = None, note: str = "", scale: float = 1.0) -> Result:
        """Percentile ``p`` of a figure and its baseline over the samples of all interleaved
        rounds (``n`` = the figure's pooled samples). For a median the ratio is the median of
        the rounds' ratios with its spread; a higher percentile of one round rests on too few
        samples, so its ratio is that of the pooled percentiles."""
        value, baseline = percentile(got.pooled, p) * scale, percentile(got.pooled_baseline, p) * scale
        if p == 50:
            rounds = got.at(50)
            return cls(group, name, value, unit, baseline_name, baseline, goal, met, note, n=len(got.pooled),
                       rounds=len(got.values), spread=rounds.spread, ratio_of_rounds=rounds.ratio)
        return cls(group, name, value, unit, baseline_name, baseline, goal, met, note, n=len(got.pooled))


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


@dataclass(frozen=True)
class Samples:
    """The samples (latencies, times per operation) of a figure and of its baseline, one
    list per interleaved round."""

    values: list[list[float]]
    baselines: list[list[float]]

    @property
    def pooled(self) -> list[float]:
        return [x for round_ in self.values for x in round_]

    @property
    def pooled_baseline(self) -> list[float]:
        return [x for round_ in self.baselines for x in round_]

    def at(self, p: float) -> Interleaved:
        """Percentile ``p`` of each round, figure and baseline."""
        return Interleaved([percentile(v, p) for v in self.values], [percentile(b, p) for b in self.baselines])


def interleave_samples(rounds: int, figure: Callable[[int], list[float]],
                       baseline: Callable[[int], list[float]]) -> Samples:
    """Like ``interleave``, for measurements that give many samples per round."""
    values, baselines = [], []
    for i in range(rounds):
        baselines.append(baseline(i))
        values.append(figure(i))
    return Samples(values, baselines)


def interleave(rounds: int, figure: Callable[[int], float], baseline: Callable[[int], float]) -> Interleaved:
    """Run ``baseline(i)`` and ``figure(i)`` alternately for ``rounds`` rounds."""
    values, baselines = [], []
    for i in range(rounds):
        baselines.append(baseline(i))
        values.append(figure(i))
    return Interleaved(values, baselines)
