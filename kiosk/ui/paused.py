"""When the kiosk must not take taps: the causes, from the agent's snapshot. Any cause puts
the full-screen 暂停使用 state up (replacing the tap prompt and any old result); it clears by
itself when the next snapshot has none."""

from __future__ import annotations

from typing import Any


def causes(state: dict[str, Any] | None, connected: bool) -> list[str]:
    """The text keys (kiosk.ui.texts) of what is wrong, most basic first; empty if all is well."""
    if not connected or state is None:
        return ["paused_agent"]
    health = state.get("health", {})
    found = []
    if health.get("identity"):  # the signing key is not the enrolled one: every tap is refused
        found.append("paused_identity")
    if health.get("journal_full"):
        found.append("paused_journal")
    if health.get("clock") == "unset":
        found.append("paused_clock")
    readers = health.get("readers") or {}
    if readers and not any(r.get("state") == "ready" for r in readers.values()):
        found.append("paused_reader")
    return found
