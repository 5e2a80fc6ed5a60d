"""Real sensor formats and live feeds: ASTERIX radar recordings, Beast and raw Mode S ADS-B, sockets.

Every reader returns the frames of :mod:`centinela.model` — PLOT_COLUMNS for radar plots, ADSB_COLUMNS for
ADS-B (one row per decoded message, SBS transmission types) — together with a :class:`DecodeStats` that
counts what was skipped and why. Formats are described in ``docs/formats.md``.

=====================  ========================================================================
file / feed            reader
=====================  ========================================================================
``plots.ast``          :func:`read_asterix` (CAT048 + CAT034 data blocks; needs sensors.toml date)
``plots.pcap``         :func:`read_asterix` (UDP capture, pcap or pcapng)
``adsb.beast``         :func:`read_beast` (needs the UTC time of the first frame: date + start)
``adsb.hex``           :func:`read_hex` (``T HEX`` lines)
sockets                :class:`LiveSource`, :func:`ingest` (tcp Beast/SBS/hex, udp ASTERIX)
=====================  ========================================================================

Writers for the simulator: :func:`write_cat048`, :func:`write_beast`, :func:`write_hex`.
"""
from centinela.sources.asterix import AsterixRecording, read_asterix, read_asterix_recording, write_cat048
from centinela.sources.beast import BeastStream, read_beast
from centinela.sources.live import LiveSource, LiveStats, ingest
from centinela.sources.modes import ModeSDecoder, decode_modes
from centinela.sources.modes_encode import encode_adsb, write_beast, write_hex
from centinela.sources.modes_hex import read_hex
from centinela.sources.stats import DecodeStats

__all__ = [
    "AsterixRecording",
    "BeastStream",
    "DecodeStats",
    "LiveSource",
    "LiveStats",
    "ModeSDecoder",
    "decode_modes",
    "encode_adsb",
    "ingest",
    "read_asterix",
    "read_asterix_recording",
    "read_beast",
    "read_hex",
    "write_beast",
    "write_cat048",
    "write_hex",
]
