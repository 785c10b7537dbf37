"""The coloured band at the top of a result: a drawn icon and the headline. Its height
follows the text (result.kv), so a long headline makes it grow instead of overflowing."""

from __future__ import annotations

from kivy.properties import ListProperty, StringProperty
from kivy.uix.boxlayout import BoxLayout

from kiosk.ui import theme


class Banner(BoxLayout):
    outcome = StringProperty("")
    headline = StringProperty("")
    banner = ListProperty(list(theme.BACKGROUND))
    banner_text = ListProperty(list(theme.INK))
