"""Run every benchmark and write docs/benchmarks.md.

    python -m bench.run            # all of them
    python -m bench.run journal    # only bench/bench_journal.py
    python -m bench.run --quick    # smaller workloads (a smoke run; not for the docs)

Each ``bench/bench_<name>.py`` has ``run(quick: bool) -> list[Result]`` and measures its
own baseline (raw Mosquitto, raw Ed25519, raw SQLite ...) in the same run.
"""

from __future__ import annotations

import argparse
import importlib
import os
import platform
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

from bench.result import Result

ROOT = Path(__file__).resolve().parent.parent
DOC = ROOT / "docs" / "benchmarks.md"


def machine() -> str:
    cpu = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = ""
    try:
        kb = int(Path("/proc/meminfo").read_text().split()[1])
        mem = f", {kb / 1024 / 1024:.0f} GiB RAM"
    except (OSError, ValueError, IndexError):
        pass
    return (
        f"{platform.system()} {platform.release()}, {os.cpu_count()} cores ({cpu}){mem}, "
        f"Python {platform.python_version()}"
    )


def stamp() -> str:
    """When, at which commit (and whether the tree had uncommitted changes), on what machine."""
    when = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    def git(*args: str) -> str:
        return subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True,
                              check=False).stdout.strip()
    commit = git("rev-parse", "--short", "HEAD") or "unknown"
    # the page itself is left out: a section written a minute ago does not make the code dirty
    changed = git("status", "--porcelain", "--untracked-files=no", "--", ".", f":!{DOC.relative_to(ROOT)}")
    dirty = "with uncommitted changes" if changed else "clean"
    return f"measured {when} at commit {commit} ({dirty}); {machine()}"


P99_MIN_N = 1_000  # below this a p99 is one of the few slowest samples, not a percentile


def n_text(r: Result) -> str:
    """The samples behind a percentile; a p99 on fewer than 1,000 is marked as such."""
    if not r.n:
        return "—"
    text = f"{r.n:,}"
    if "p99" in r.name and r.n < P99_MIN_N:
        text += f" (< {P99_MIN_N:,}: not a trustworthy p99)"
    return text


def fmt(x: float | None) -> str:
    if x is None:
        return "—"
    if abs(x) >= 100:
        return f"{x:,.0f}"
    if abs(x) >= 1:
        return f"{x:.2f}"
    return f"{x:.3g}"


def ratio_text(r: Result) -> str:
    if r.ratio is None:
        return "—"
    text = fmt(r.ratio) + "×"
    if r.rounds and r.spread:
        text += f" (median of {r.rounds} rounds, {fmt(r.spread[0])}–{fmt(r.spread[1])})"
    return text


def render(results: list[Result], stamps: dict[str, str]) -> str:
    """``stamps``: group → when, at which commit and where that group was measured."""
    lines = [
        "# Benchmarks",
        "",
        "Written by `python -m bench.run` (see `bench/`). Every figure stands beside a",
        "baseline measured in the same run on the same machine; the ratio is what to",
        "compare across machines. Where a figure and its baseline ran in interleaved rounds,",
        "the ratio is the median of the rounds' ratios, with the lowest and highest beside it.",
        "`n` is the number of samples behind a percentile (a p99 wants n ≥ 1,000). Each section says",
        "when, at which commit (clean, or with uncommitted changes) and on which machine it was",
        "measured. Goals come from the issues; a missed",
        "goal is said plainly.",
        "",
    ]
    groups: dict[str, list[Result]] = {}
    for r in results:
        groups.setdefault(r.group, []).append(r)
    for group, rows in groups.items():
        lines += [f"## {group}", "", f"_{stamps[group]}_", "",
                  "| figure | value | n | baseline | ratio | goal | met |",
                  "|---|---|---|---|---|---|---|"]
        for r in rows:
            base = "—"
            if r.baseline is not None:
                base = f"{fmt(r.baseline)} {r.unit} ({r.baseline_name})"
            met = "—" if r.met is None else ("yes" if r.met else "**no**")
            n = n_text(r)
            lines.append(
                f"| {r.name} | {fmt(r.value)} {r.unit} | {n} | {base} | {ratio_text(r)} | {r.goal or '—'} | {met} |"
            )
        notes = [f"{r.name} — {'missed. ' if r.met is False else ''}{r.note}" for r in rows if r.note]
        if notes:
            lines.append("")
            lines += [f"- {n}" for n in notes]
        lines.append("")
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("names", nargs="*", help="benchmarks to run (default: all)")
    parser.add_argument("--quick", action="store_true", help="small workloads; does not write the docs")
    args = parser.parse_args()
    available = sorted(p.stem[len("bench_"):] for p in Path(__file__).parent.glob("bench_*.py"))
    names = args.names or available
    results: list[Result] = []
    stamps: dict[str, str] = {}
    for name in names:
        if name not in available:
            print(f"no benchmark {name!r}; have: {', '.join(available)}", file=sys.stderr)
            return 2
        print(f"== {name}", flush=True)
        module = importlib.import_module(f"bench.bench_{name}")
        started = stamp()  # the commit and tree the section is measured on, not the one at the end
        got = module.run(args.quick)
        for r in got:
            stamps.setdefault(r.group, started)
        for r in got:
            ratio = f" ({fmt(r.ratio)}× {r.baseline_name})" if r.ratio is not None else ""
            print(f"   {r.name}: {fmt(r.value)} {r.unit}{ratio}", flush=True)
        results += got
    if not args.quick:
        text = render(results, stamps)
        if args.names and DOC.exists():
            text = merge(DOC.read_text(), text, {r.group for r in results})
        DOC.write_text(text)
        print(f"wrote {DOC.relative_to(ROOT)}")
    return 0


def merge(old: str, new: str, groups: set[str]) -> str:
    """Keep the sections of benchmarks not run this time."""
    def sections(text: str) -> tuple[str, dict[str, str]]:
        head, *parts = text.split("\n## ")
        return head, {p.split("\n", 1)[0]: "## " + p for p in parts}
    old_head, old_sections = sections(old)
    head, new_sections = sections(new)
    legacy = legacy_stamp(old_head)
    kept: dict[str, str] = {}
    for name, body in old_sections.items():  # the page's order stays: a section re-run stays where it was
        if name in groups:
            kept[name] = new_sections.pop(name, body)
            continue
        if "\n_measured " not in body:  # a section from before per-section stamps, or written by hand
            title, rest = body.split("\n", 1)
            body = f"{title}\n\n_{legacy or UNSTAMPED}_\n{rest}"
        kept[name] = body
    kept.update(new_sections)
    return head + "\n" + "\n".join(kept[k].rstrip("\n") + "\n" for k in kept)


UNSTAMPED = "measured at an unrecorded commit and time (no stamp was written): re-run it with `python -m bench.run`"


def legacy_stamp(head: str) -> str:
    """The one stamp an older page carried for all its sections ("- when: …, commit …" and
    "- machine: …"), so the sections kept from it still say when and where they were made."""
    when = machine_ = ""
    for line in head.splitlines():
        if line.startswith("- when: "):
            when = line[len("- when: "):]
        elif line.startswith("- machine: "):
            machine_ = line[len("- machine: "):]
    if not when:
        return ""
    moment, _, commit = when.partition(", commit ")
    return f"measured {moment} at commit {commit or 'unknown'}; {machine_ or 'machine not recorded'}"


if __name__ == "__main__":
    sys.exit(main())
