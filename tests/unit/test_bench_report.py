"""What bench/ writes into docs/benchmarks.md: n beside every percentile (and a p99 on
fewer than 1,000 samples marked), ratios as medians of interleaved rounds with their spread,
and a stamp (commit, clean or not, time, machine) on every section."""

from __future__ import annotations

import re
from pathlib import Path

from bench import run
from bench.result import Result, Samples, interleave_samples

ROOT = Path(__file__).resolve().parents[2]
STAMP = re.compile(r"^_measured .+ at commit [0-9a-f]{7,}.*; .*_$|^_" + re.escape(run.UNSTAMPED) + "_$")


def samples() -> Samples:
    # round i: the figure takes (i + 2) ms for every sample, the baseline 1 ms
    calls: list[str] = []

    def figure(i: int) -> list[float]:
        calls.append("figure")
        return [(i + 2) / 1000] * 200

    def baseline(i: int) -> list[float]:
        calls.append("baseline")
        return [1 / 1000] * 200

    got = interleave_samples(5, figure, baseline)
    assert calls == ["baseline", "figure"] * 5  # interleaved, baseline first in each round
    return got


def test_a_median_of_samples_carries_n_and_the_rounds_ratio_with_its_spread() -> None:
    r = Result.of_samples("g", "x, p50", samples(), 50, "ms", "raw", scale=1000)
    assert r.n == 1000
    assert r.rounds == 5
    assert r.spread == (2.0, 6.0)
    assert r.ratio == 4.0  # the median of the rounds' ratios 2, 3, 4, 5, 6
    assert "median of 5 rounds, 2.00–6.00" in run.ratio_text(r)


def test_a_p99_of_samples_is_over_all_rounds_pooled() -> None:
    r = Result.of_samples("g", "x, p99", samples(), 99, "ms", "raw", scale=1000)
    assert r.n == 1000
    assert r.value == 6.0 and r.baseline == 1.0
    assert r.rounds is None  # one round's p99 would rest on 200 samples


def test_a_p99_on_fewer_than_1000_samples_is_marked() -> None:
    assert run.n_text(Result("g", "latency p99", 1.0, "ms", n=30)) == "30 (< 1,000: not a trustworthy p99)"
    assert run.n_text(Result("g", "latency p99", 1.0, "ms", n=1000)) == "1,000"
    assert run.n_text(Result("g", "latency p50", 1.0, "ms", n=30)) == "30"
    assert run.n_text(Result("g", "rate", 1.0, "records/s")) == "—"


def test_the_stamp_names_the_commit_and_whether_the_tree_was_clean() -> None:
    text = run.stamp()
    assert re.match(r"measured \d{4}-\d\d-\d\d \d\d:\d\d UTC at commit [0-9a-f]+ \((clean|with uncommitted changes)\); ",
                    text), text
    assert "cores" in text


def test_a_section_kept_without_a_stamp_gets_one_saying_so() -> None:
    old = "# Benchmarks\n\nhead\n\n## Written by hand\n\n| a | b |\n\n## Stamped\n\n_measured then at commit abc1234 (clean); m_\n"
    new = run.render([Result("Fresh", "x", 1.0, "s")], {"Fresh": "measured now at commit def5678 (clean); m"})
    merged = run.merge(old, new, {"Fresh"})
    sections = merged.split("\n## ")[1:]
    assert [s.split("\n", 1)[0] for s in sections] == ["Written by hand", "Stamped", "Fresh"]
    for section in sections:
        assert any(STAMP.match(line) for line in section.splitlines()), section
    assert run.UNSTAMPED in sections[0]


def test_every_section_of_the_benchmarks_page_carries_a_stamp() -> None:
    text = (ROOT / "docs" / "benchmarks.md").read_text()
    sections = text.split("\n## ")[1:]
    assert sections
    for section in sections:
        title = section.split("\n", 1)[0]
        assert any(line.startswith("_measured ") and " at commit " in line for line in section.splitlines()), title
