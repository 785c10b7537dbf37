"""The touchscreen's memory as results follow one another (docs/ui.md, Memory): a label keeps
two textures and draws each change into the one the last frame did not draw from, so showing
results creates no texture once each label has its two (a new texture per result grew the
screen by about 3.5 MB a result under llvmpipe). Offscreen Kivy, driven by
tests/support/ui_memory_driver.py in its own process."""

from __future__ import annotations

from typing import Any

import pytest

from tests.support.ui_run import run_driver


@pytest.fixture(scope="module")
def seen(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    return run_driver("tests.support.ui_memory_driver", tmp_path_factory.mktemp("ui-memory"), "zh_CN", timeout=240)


def test_many_results_create_no_textures_once_each_label_has_two(seen) -> None:
    assert 120 == seen["results"] and "result" == seen["screen"]
    assert seen["labels"] >= 4  # the headline, greeting, details, advice at least
    assert seen["created"] <= 2 * seen["labels"], seen["created"]  # not one a result


def test_a_changed_text_never_goes_into_the_texture_the_last_frame_drew(seen) -> None:
    """Kivy's own Label re-uses it, and under llvmpipe that upload waits for the frame."""
    assert [] == seen["redrawn_in_place"]


def test_agent_state_events_keep_the_idle_screens_course_rows(seen) -> None:
    """Each state event shows the idle screen again; rebuilding its rows made new textures."""
    assert seen["rows_kept"]
    assert any("4/20" in text for text in seen["rows_after_a_place_taken"]), seen["rows_after_a_place_taken"]
