"""Finite-width random networks that check the predictions of ``meanfield``.

``sim`` builds on ``meanfield``; ``meanfield`` never imports ``sim``.
"""
from .network import Network, RandomNetwork

__all__ = ["Network", "RandomNetwork"]
