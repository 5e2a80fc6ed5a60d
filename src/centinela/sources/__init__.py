"""Real sensor formats and live feeds: ASTERIX radar recordings, Beast and raw Mode S ADS-B, sockets.

Every reader returns the frames of :mod:`centinela.model` (PLOT_COLUMNS for radar plots, ADSB_COLUMNS for
ADS-B) together with a :class:`DecodeStats` that counts what was skipped and why. See ``docs/formats.md``.
"""
from centinela.sources.stats import DecodeStats

__all__ = ["DecodeStats"]
