"""A Label that draws changed text into a new texture instead of over its old one.

Kivy's Label re-uses its texture when the new text has the same pixel size, uploading into
a texture the last frame still draws from. Under Mesa's llvmpipe that upload waits for the
frame to be rasterised: measured 100–1,350 ms for the result's headline (same size from one
outcome to the next) on this machine's two loaded cores, the whole of the result p99 miss.
A new texture costs an allocation and no wait (docs/ui.md, Memory and latency)."""

from __future__ import annotations

from typing import Any

from kivy.factory import Factory
from kivy.uix.label import Label


class FreshLabel(Label):
    def texture_update(self, *largs: Any) -> None:
        if self._label is not None:
            self._label.texture = None  # let the core label make a new one
        super().texture_update(*largs)


Factory.register("FreshLabel", cls=FreshLabel)
