"""Widgets shared by several screens (one ``.py`` + one ``.kv`` each)."""
