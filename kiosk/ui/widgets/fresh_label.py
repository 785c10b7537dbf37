"""A Label that never draws changed text into the texture the last frame drew from, and
keeps two textures to do it.

Kivy's Label re-uses its texture when the new text has the same pixel size, uploading into
a texture the last frame still draws from. Under Mesa's llvmpipe that upload waits for the
frame to be rasterised: measured 100–1,350 ms for the result's headline (same size from one
outcome to the next) on this machine's two loaded cores, the whole of the result p99 miss.

A new texture for every change avoided the wait but made the screen grow by about 3.5 MB a
result (old textures' memory was not given back under llvmpipe; docs/ui.md, Memory). So a
label keeps a spare: a change of text is drawn into the texture the last frame did not draw
from, and the two take turns. Changes within one frame go into the same (undrawn) texture.
Under llvmpipe an upload into a texture drawn before still waits at times (0.3–1.3 s for
about 1 % of results; docs/ui.md, Memory and latency): bounded memory was chosen over that.
Only a change of pixel size makes a new texture (Kivy's core label does), and the old one is
then let go: two textures a label at most."""

from __future__ import annotations

from typing import Any

from kivy.clock import Clock
from kivy.factory import Factory
from kivy.graphics.texture import Texture
from kivy.uix.label import Label


class FreshLabel(Label):
    _spare: Texture | None = None  # the texture not on screen, drawn into at the next change
    _swapped_at = -1  # Clock.frames of the last swap: one swap a frame

    def texture_update(self, *largs: Any) -> None:
        label = self._label
        if label is not None and Clock.frames != self._swapped_at:
            shown = label.texture
            # the core label draws into the spare when its size fits, else makes a new one
            label.texture = self._spare if self._spare is not label.texture_1px else None
            self._spare = shown if shown is not label.texture_1px else None
            self._swapped_at = Clock.frames
        super().texture_update(*largs)


Factory.register("FreshLabel", cls=FreshLabel)
