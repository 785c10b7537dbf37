"""The gateway's bounded, fair inbox and its per-kiosk error-receipt budget."""

from __future__ import annotations

import threading

from gateway.inbox import RECENT_S, Bounds, FairInbox
from gateway.ratelimit import PerKioskBudget


class Tick:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def drain(inbox: FairInbox[str]) -> list[str]:
    out = []
    while (got := inbox.get(0)) is not None:
        out.append(got[1])
    return out


class TestFairInbox:
    def test_take_leaves_a_message_too_large_for_the_group_first_in_line(self) -> None:
        """The worker's group commit takes what waits only while it fits its byte bound."""
        inbox: FairInbox[str] = FairInbox(Bounds(100, 10**9, 50, 10**9))
        inbox.put("k-a", "a1", 10)
        inbox.put("k-b", "b1", 500)
        inbox.put("k-a", "a2", 10)
        assert ("k-a", "a1") == inbox.take(100)
        assert inbox.take(100) is None  # k-b's turn, and its message does not fit
        assert (2, 510) == inbox.usage()
        assert ["b1", "a2"] == drain(inbox)  # nothing lost, the turns as before
        assert inbox.take(10**9) is None

    def test_kiosks_are_served_in_turn(self) -> None:
        """A kiosk with many messages waiting does not make another wait behind all of them."""
        inbox: FairInbox[str] = FairInbox(Bounds(100, 10**9, 50, 10**9))
        for i in range(5):
            assert inbox.put("flood", f"f{i}", 1) is None
        assert inbox.put("quiet", "q0", 1) is None
        assert ["f0", "q0", "f1", "f2", "f3", "f4"] == drain(inbox)

    def test_a_kiosk_over_its_bound_is_shed_and_others_still_fit(self) -> None:
        inbox: FairInbox[str] = FairInbox(Bounds(100, 10**9, 2, 10**9))
        assert [None, None, "kiosk-full"] == [inbox.put("flood", str(i), 1) for i in range(3)]
        assert inbox.put("quiet", "q", 1) is None

    def test_bytes_are_bounded_per_kiosk_and_in_all(self) -> None:
        inbox: FairInbox[str] = FairInbox(Bounds(100, 1000, 10, 600))
        assert inbox.put("a", "a1", 500) is None
        assert "kiosk-full" == inbox.put("a", "a2", 200)
        assert inbox.put("b", "b1", 400) is None
        assert "inbox-full" == inbox.put("c", "c1", 200)
        assert (2, 900) == inbox.usage()

    def test_one_message_larger_than_the_bound_still_fits_an_empty_queue(self) -> None:
        """A message the broker let through is never refused for ever: it waits alone."""
        inbox: FairInbox[str] = FairInbox(Bounds(10, 100, 10, 100))
        assert inbox.put("a", "big", 500) is None

    def test_over_bound_while_full_and_shortly_after_shedding(self) -> None:
        tick = Tick()
        inbox: FairInbox[str] = FairInbox(Bounds(2, 10**9, 5, 10**9), clock=tick)
        inbox.put("a", "1", 1)
        assert not inbox.over_bound()
        inbox.put("b", "2", 1)
        assert inbox.over_bound()
        assert "inbox-full" == inbox.put("c", "3", 1)
        drain(inbox)
        assert inbox.over_bound()  # it shed a moment ago
        tick.now += RECENT_S + 0.1
        assert not inbox.over_bound()

    def test_get_waits_and_close_wakes_it(self) -> None:
        inbox: FairInbox[str] = FairInbox(Bounds())
        assert inbox.get(0.01) is None
        got: list[object] = []
        waiter = threading.Thread(target=lambda: got.append(inbox.get(30)))
        waiter.start()
        inbox.close()
        waiter.join(5)
        assert [None] == got


class TestPerKioskBudget:
    def test_a_burst_then_the_rate(self) -> None:
        tick = Tick()
        budget = PerKioskBudget(per_second=1.0, burst=5, clock=tick)
        assert 5 == sum(budget.take("k-a") for _ in range(10_000))
        tick.now += 3
        assert 3 == sum(budget.take("k-a") for _ in range(10_000))

    def test_kiosks_have_their_own_budgets(self) -> None:
        tick = Tick()
        budget = PerKioskBudget(per_second=1.0, burst=2, clock=tick)
        assert 2 == sum(budget.take("k-a") for _ in range(100))
        assert budget.take("k-b")

    def test_many_kiosk_names_do_not_grow_it_without_end(self) -> None:
        budget = PerKioskBudget(per_second=1.0, burst=1, max_kiosks=100)
        for i in range(1000):
            budget.take(f"k-{i}")
        assert len(budget._buckets) <= 100
