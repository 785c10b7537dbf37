"""Helpers the tests share: real processes (Mosquitto, the LRS) and a county factory."""
