"""Beast binary (dump1090/readsb port 30005, ``.bin`` recordings, ``adsb.beast``) to ADSB_COLUMNS.

A frame is ``0x1A``, a type byte (``'1'`` Mode A/C: 2 payload bytes, ``'2'`` Mode S short: 7, ``'3'`` Mode S
long: 14), a 48-bit big-endian time stamp of a 12 MHz counter, a signal-level byte and the payload; every
``0x1A`` inside a frame is sent twice. The framing is undone on whole buffers with NumPy: a run of ``0x1A``
bytes of odd length ends in a frame start, and every second byte of a run is an escape copy. Frames of other
types (``'4'`` status, ...) are skipped and counted as unsupported; frames whose length does not match their
type are counted as malformed, and the reader resynchronises on the next frame start.

Time: the counter starts anywhere, so a recording is anchored with ``t0_s``, the UTC time of its first frame
(``sensors.toml`` ``date`` + ``start``); a live feed is anchored on arrival time. A counter that steps back
(receiver restart) continues from where it was. Receivers without a clock send zero time stamps: such a file
cannot be timed and raises InputError.

>>> import pandas as pd
>>> from centinela.sources.modes_encode import write_beast
>>> import tempfile, pathlib
>>> p = pathlib.Path(tempfile.mkdtemp()) / "adsb.beast"
>>> rows = pd.DataFrame({"t": [0.0, 0.5], "icao24": ["406b90", "406b90"], "msg_type": [1, 8],
...                      "callsign": ["EZY85MH", None]})
>>> t0 = write_beast(rows, p, t0_s=1780310700.0)
>>> df, stats = read_beast(p, t0_s=1780310700.0)
>>> df.t.tolist(), df.callsign[0], stats.rows
([1780310700.0, 1780310700.5], 'EZY85MH', 2)
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from centinela.errors import InputError
from centinela.sources.modes import LONG_BYTES, ModeSDecoder
from centinela.sources.modes_encode import BEAST_ESCAPE, BEAST_TICKS_PER_S
from centinela.sources.stats import DecodeStats

PAYLOAD_BYTES = {ord("1"): 2, ord("2"): 7, ord("3"): 14}  # Beast frame type -> payload bytes
HEADER_BYTES = 9  # marker, type, 6-byte time stamp, signal
TICK_MASK = (1 << 48) - 1


@dataclass
class BeastFrames:
    """Mode S frames cut out of a Beast buffer. ``end`` is where the last complete frame ended (a live reader
    keeps the rest for the next chunk). Mode A/C frames are counted but not returned."""

    ticks: np.ndarray  # int64, 12 MHz counter
    signal: np.ndarray  # uint8
    frames: np.ndarray  # (n, 14) uint8, short frames left-aligned
    nbytes: np.ndarray  # 7 or 14
    offset: np.ndarray  # byte offset of each frame in the buffer
    end: int
    stats: DecodeStats


def split_beast(buf: bytes, *, final: bool = True, source: str = "beast") -> BeastFrames:
    """Cut a Beast byte buffer into frames. With ``final=False`` (a live stream) the last frame, which may
    still be arriving, and a trailing run of 0x1A bytes, whose meaning depends on the next byte, are left
    for the next call: ``end`` says where they start."""
    a = np.frombuffer(buf, dtype=np.uint8)
    trail = 0
    if not final:
        data = np.flatnonzero(a != BEAST_ESCAPE)
        trail = len(a) - (int(data[-1]) + 1 if data.size else 0)
    body = a[:len(a) - trail]
    stats = DecodeStats()
    marker, u, pos = _frame_starts(body)
    if marker.size == 0:
        if len(body):
            stats.malformed += 1
            stats.note_error(f"{source}: byte 0: {len(body)} bytes and no frame start")
        return _empty(len(body) if not final else len(a), stats)

    length = np.concatenate([pos[1:], [len(u)]]) - pos
    kind = u[np.minimum(pos + 1, len(u) - 1)]
    payload = np.zeros(len(pos), dtype=np.int64)
    for code, n in PAYLOAD_BYTES.items():
        payload[kind == code] = n
    end = len(a)
    if not final:
        end = len(body)
        if length[-1] < 2 or payload[-1] == 0 or length[-1] < HEADER_BYTES + payload[-1]:
            end = int(marker[-1])  # cut off, or a type whose length we do not know yet: wait for more
            marker, pos, length, kind, payload = (x[:-1] for x in (marker, pos, length, kind, payload))
    complete = length == HEADER_BYTES + payload

    if marker.size and marker[0] > 0:
        stats.malformed += 1  # bytes before the first frame start: the tail of a frame we did not see
        stats.note_error(f"{source}: byte 0: {int(marker[0])} bytes before the first frame start")
    known = payload > 0
    bad = known & ~complete
    stats.malformed += int(bad.sum())
    stats.unsupported = int((~known).sum() + (complete & (payload == 2)).sum())  # other types, Mode A/C
    stats.records = stats.unsupported + int(bad.sum())  # the Mode S decoder counts the frames it gets
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        stats.note_error(f"{source}: byte {int(marker[i])}: frame type {chr(int(kind[i]))!r} needs "
                         f"{HEADER_BYTES + int(payload[i])} bytes, got {int(length[i])}")
    good = np.flatnonzero(complete & (payload > 2))
    p = pos[good]
    ticks = np.zeros(good.size, dtype=np.int64)
    for k in range(6):
        ticks = (ticks << 8) | u[p + 2 + k].astype(np.int64)
    n = payload[good]
    cols = np.arange(LONG_BYTES)
    take = np.minimum(p[:, None] + HEADER_BYTES + cols[None, :], len(u) - 1)
    frames = np.where(cols[None, :] < n[:, None], u[take], 0).astype(np.uint8)
    return BeastFrames(ticks, u[p + 8].copy(), frames, n, marker[good], int(end), stats)


def _frame_starts(a: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Frame starts in the escaped buffer, the unescaped buffer, and the frame starts in the latter."""
    is_esc = a == BEAST_ESCAPE
    edges = np.diff(np.concatenate([[0], is_esc.view(np.int8), [0]]))
    run_start, run_end = np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)
    marker = run_end[((run_end - run_start) % 2) == 1] - 1  # a frame starts at the last 0x1A of an odd run
    esc_pos = np.flatnonzero(is_esc)
    run_of = np.searchsorted(run_start, esc_pos, side="right") - 1
    keep = np.ones(len(a), dtype=bool)
    keep[esc_pos[((esc_pos - run_start[run_of]) % 2) == 1]] = False  # every second byte of a run is a copy
    pos = np.cumsum(keep)[marker] - 1
    return marker, a[keep], pos


def _empty(end: int, stats: DecodeStats) -> BeastFrames:
    return BeastFrames(np.zeros(0, np.int64), np.zeros(0, np.uint8), np.zeros((0, LONG_BYTES), np.uint8),
                       np.zeros(0, np.int64), np.zeros(0, np.int64), end, stats)


def ticks_to_seconds(ticks: np.ndarray) -> np.ndarray:
    """Seconds since the first frame; a counter that steps back (a restart) continues where it was."""
    if ticks.size == 0:
        return np.zeros(0)
    step = np.diff(ticks & TICK_MASK)
    step = np.where(step < 0, 0, step)
    return np.concatenate([[0.0], np.cumsum(step) / BEAST_TICKS_PER_S])


def read_beast(path: str | Path, *, t0_s: float, reference: tuple[float, float] | None = None,
               strict: bool = False) -> tuple[pd.DataFrame, DecodeStats]:
    """Read a Beast recording into ADSB_COLUMNS; ``t0_s`` is the UTC epoch time of its first frame.

    ``reference`` is the receiver's (lat, lon) for surface positions. Malformed frames are skipped and counted;
    with ``strict=True`` the first one raises InputError naming its byte offset.
    """
    path = Path(path)
    try:
        buf = path.read_bytes()
    except FileNotFoundError:
        raise InputError(path, "file not found") from None
    cut = split_beast(buf, source=str(path))
    if strict and cut.stats.malformed:
        raise InputError(path, cut.stats.first_error or "malformed Beast frame")
    if cut.ticks.size and not cut.ticks.any():
        raise InputError(path, "every Beast time stamp is zero (the receiver sent no clock), so the frames "
                               "cannot be timed; record with time stamps or use adsb.hex")
    if len(buf) and cut.ticks.size == 0 and cut.stats.unsupported == 0:
        raise InputError(path, f"no Beast frame found ({cut.stats.first_error or 'no 0x1A frame start'})")
    t = t0_s + ticks_to_seconds(cut.ticks)
    rows, stats = ModeSDecoder(reference).decode(t, cut.frames, cut.nbytes)
    return rows, stats + cut.stats


class BeastStream:
    """Decode a live Beast byte stream chunk by chunk; frames split across chunks are joined.

    Times: the first frame is anchored to its chunk's arrival time and later frames follow the 12 MHz
    counter (arrival time when the receiver sends zero time stamps).
    """

    def __init__(self, reference: tuple[float, float] | None = None, source: str = "beast"):
        self.decoder = ModeSDecoder(reference)
        self.source = source
        self._rest = b""
        self._anchor: tuple[int, float] | None = None  # (ticks, epoch s) of the first frame
        self._last_ticks = 0
        self._elapsed_s = 0.0

    def reset(self) -> None:
        """A new connection: drop any partial frame and anchor the clock afresh on the next frame."""
        self._rest = b""
        self._anchor = None
        self._elapsed_s = 0.0

    def feed(self, chunk: bytes, arrival_s: float) -> tuple[pd.DataFrame, DecodeStats]:
        buf = self._rest + chunk
        cut = split_beast(buf, final=False, source=self.source)
        self._rest = buf[cut.end:]
        return self._decode(cut, arrival_s)

    def frames(self, chunk: bytes, arrival_s: float) -> tuple[np.ndarray, np.ndarray, np.ndarray, DecodeStats]:
        """Like :meth:`feed` but return the raw frames (times, frames, byte counts) without decoding them."""
        buf = self._rest + chunk
        cut = split_beast(buf, final=False, source=self.source)
        self._rest = buf[cut.end:]
        return self._times(cut.ticks, arrival_s), cut.frames, cut.nbytes, cut.stats

    def _times(self, ticks: np.ndarray, arrival_s: float) -> np.ndarray:
        if ticks.size == 0:
            return np.zeros(0)
        if not ticks.any():
            return np.full(ticks.size, arrival_s)
        if self._anchor is None:
            self._anchor = (int(ticks[0]), arrival_s)
            self._last_ticks = int(ticks[0])
        seconds = ticks_to_seconds(np.concatenate([[self._last_ticks], ticks]))[1:] + self._elapsed_s
        self._elapsed_s = float(seconds[-1])
        self._last_ticks = int(ticks[-1])
        return self._anchor[1] + seconds

    def _decode(self, cut: BeastFrames, arrival_s: float) -> tuple[pd.DataFrame, DecodeStats]:
        t = self._times(cut.ticks, arrival_s)
        rows, stats = self.decoder.decode(t, cut.frames, cut.nbytes)
        return rows, stats + cut.stats
