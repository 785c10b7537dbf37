"""The ``learncard`` command: one subcommand group per program and the demo.

This package is the one place that reads configuration and wires adapters together.
"""
