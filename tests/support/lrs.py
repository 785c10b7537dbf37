"""The test LRS for pytest: the same launcher the demo uses."""

from learncard.demo.lrs import Lrs

__all__ = ["Lrs"]
