"""What the touchscreen side adds to the staff screen, kept out of staff.kv so the staff
flows and these can change apart: the screen's content in a scroll view, a warning before
the idle lock, the kiosk's health (network, readers, clock, sound) and the sound panel
(volume, speech rate, a test tone)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from kivy.app import App
from kivy.lang import Builder
from kivy.properties import StringProperty
from kivy.uix.boxlayout import BoxLayout
from kivy.uix.screenmanager import Screen
from kivy.uix.scrollview import ScrollView

from kiosk.ui.texts import TEXTS, t
from kiosk.ui.troubles import troubles


def health_text(state: dict[str, Any] | None, audio: dict[str, Any], language: str) -> str:
    """What is wrong first (kiosk.ui.troubles: what to do about it), then network, records
    waiting, readers, clock and sound, in words (no raw state names)."""
    h = (state or {}).get("health", {})
    readers = "，".join(
        f"{reader_name(name, language)} {t('reader_ready' if r.get('state') == 'ready' else 'reader_error', language)}"
        for name, r in (h.get("readers") or {}).items()) or t("reader_absent", language)
    clock = t("clock_unset" if h.get("clock") in (None, "unset") else "clock_synced", language)
    lines = t("health_text", language, online=t("online" if h.get("online") else "offline", language),
              pending=h.get("pending", 0), oldest=h.get("oldest_pending_seconds") or 0, readers=readers,
              clock=clock)
    return "".join(line + "\n" for line in troubles(h, language)) + lines + "\n" + audio_text(audio, language)


def reader_name(name: str, language: str) -> str:
    key = f"reader_{name}"
    return t(key, language) if key in TEXTS else name


def audio_text(audio: dict[str, Any], language: str) -> str:
    if not audio.get("enabled"):
        return t("audio_off", language)
    if not audio.get("device"):
        return t("audio_no_device", language)
    if audio.get("last_ok") is False:
        return t("audio_failed", language, error=audio.get("last_error", ""))
    return t("audio_ok" if audio.get("last_ok") else "audio_unknown", language)


class StaffExtras(BoxLayout):
    warning = StringProperty("")
    health = StringProperty("")
    title = StringProperty("")
    volume_text = StringProperty("")
    rate_text = StringProperty("")
    louder = StringProperty("")
    quieter = StringProperty("")
    faster = StringProperty("")
    slower = StringProperty("")
    tone_text = StringProperty("")

    def refresh(self, state: dict[str, Any] | None, language: str, seconds_left: int | None) -> None:
        app = App.get_running_app()
        speaker = app.speaker
        self.warning = t("idle_warning", language, seconds=seconds_left) if seconds_left is not None else ""
        self.health = health_text(state, speaker.health(), language)
        self.title = t("audio_title", language)
        self.volume_text = t("volume", language, value=speaker.volume)
        self.rate_text = t("rate_speech", language, value=speaker.rate)
        for key in ("louder", "quieter", "faster", "slower"):
            setattr(self, key, t(key, language))
        self.tone_text = t("test_tone", language)


def install(screen: Screen) -> StaffExtras:
    """Put the staff screen's content in a scroll view and add the extras at its top."""
    content = screen.children[0]
    screen.remove_widget(content)
    content.size_hint_y = None
    content.bind(minimum_height=content.setter("height"))
    extras = StaffExtras()
    content.add_widget(extras, index=len(content.children) - 1)  # under the title
    scroll = ScrollView(do_scroll_x=False, bar_width=12)
    scroll.add_widget(content)
    screen.add_widget(scroll)
    return extras


_KV = str(Path(__file__).with_suffix(".kv"))
if _KV not in Builder.files:
    Builder.load_file(_KV)
