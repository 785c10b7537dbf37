"""The benches build the fleet simulator's options from its own parser: an option added to
``python -m bench.fleet`` reaches every scenario with its default (bench_tier once crashed on
a Namespace that lacked a new option)."""

from __future__ import annotations

import pytest

from bench.fleet import arguments, options


def test_a_scenario_gets_every_option_with_its_default() -> None:
    args = arguments(kiosks=3, gateways=2, store="postgresql")
    defaults = vars(options().parse_args([]))
    assert set(defaults) == set(vars(args))
    assert (3, 2, "postgresql", defaults["inbox_messages"], 1) == (
        args.kiosks, args.gateways, args.store, args.inbox_messages, args.processes)


def test_a_misspelt_option_is_refused() -> None:
    with pytest.raises(TypeError, match="no option 'inbox'"):
        arguments(inbox=4096)


def test_the_command_line_and_the_worker_count() -> None:
    args = arguments(["--kiosks", "1000", "--tls"])
    assert (1000, True, 4) == (args.kiosks, args.tls, args.processes)
