"""``adsb.hex``: one raw Mode S frame a line, ``T HEX`` (T in UTC epoch seconds, HEX 14 or 28 hex digits).

Also read: the ``*HEX;`` form of dump1090's raw port (30002) after the time (``T *HEX;``), blank lines and
``#`` comments. On a live raw feed a line with no time gets its arrival time. Malformed lines are skipped and
counted (with ``strict=True`` the first one raises InputError naming its line).

>>> import tempfile, pathlib
>>> p = pathlib.Path(tempfile.mkdtemp()) / "adsb.hex"
>>> _ = p.write_text("1780310700.0 8D406B902015A678D4D220AA4BDA\\n# a comment\\n1780310701.0 8D40\\n")
>>> df, stats = read_hex(p)
>>> df.callsign.tolist(), stats.malformed, stats.first_error.split("adsb.hex")[1]
(['EZY85MH'], 1, ':3: expected T HEX with 14 or 28 hex digits, got "1780310701.0 8D40"')
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from centinela.errors import InputError
from centinela.sources.modes import LONG_BYTES, ModeSDecoder, frames_from_hex
from centinela.sources.stats import DecodeStats

# time (optional on live feeds), then the frame, bare or in dump1090's *...; raw form
LINE_PATTERN = r"^\s*(?P<t>[-+0-9.eE]+\s+)?\*?(?P<hex>[0-9A-Fa-f]{28}|[0-9A-Fa-f]{14});?\s*$"


def parse_hex_lines(lines: list[str], *, source: str = "hex", first_line: int = 1,
                    arrival_s: float | None = None,
                    strict: bool = False) -> tuple[np.ndarray, np.ndarray, np.ndarray, DecodeStats]:
    """Parse text lines into frame times, frames and byte counts (see :mod:`centinela.sources.modes`).
    Malformed lines are counted, or with ``strict=True`` raise InputError at the first."""
    text = pd.Series(lines, dtype="string").str.rstrip("\r\n")
    content = ~(text.str.strip().eq("") | text.str.lstrip().str.startswith("#"))
    parts = text.str.extract(LINE_PATTERN)
    t = pd.to_numeric(parts["t"].str.strip(), errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)
    if arrival_s is not None:
        t = np.where(parts["t"].isna().to_numpy(), arrival_s, t)
    ok = (content & parts["hex"].notna()).to_numpy(dtype=bool) & np.isfinite(t)
    bad = content.to_numpy(dtype=bool) & ~ok
    stats = DecodeStats(malformed=int(bad.sum()))
    stats.records = stats.malformed  # the Mode S decoder counts the good ones
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        message = f'expected T HEX with 14 or 28 hex digits, got "{text[i][:60]}"'
        if strict:
            raise InputError(source, message, line=first_line + i)
        stats.note_error(f"{source}:{first_line + i}: {message}")
    if not ok.any():
        return np.zeros(0), np.zeros((0, LONG_BYTES), np.uint8), np.zeros(0, np.int64), stats
    frames, nbytes = frames_from_hex(parts["hex"][ok].tolist())
    return t[ok], frames, nbytes, stats


def read_hex(path: str | Path, *, reference: tuple[float, float] | None = None,
             strict: bool = False) -> tuple[pd.DataFrame, DecodeStats]:
    """Read an ``adsb.hex`` file into ADSB_COLUMNS (sorted by time) and the decode counters."""
    path = Path(path)
    try:
        text = path.read_bytes().decode("ascii", errors="replace")
    except FileNotFoundError:
        raise InputError(path, "file not found") from None
    lines = text.splitlines()
    t, frames, nbytes, line_stats = parse_hex_lines(lines, source=str(path), strict=strict)
    if line_stats.malformed and t.size == 0:  # nothing readable: most likely not a hex file at all
        parse_hex_lines(lines, source=str(path), strict=True)
    rows, stats = ModeSDecoder(reference).decode(t, frames, nbytes)
    return rows, stats + line_stats
