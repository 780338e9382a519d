"""ksef-tui: a keyboard-driven terminal client for KSeF 2.0."""

__version__ = "0.1.0"
