"""Mode S and ADS-B (1090 MHz) frames to ADSB_COLUMNS rows, decoded with NumPy over all frames at once.

pyModeS decodes one message at a time in Python; a day of a busy receiver is tens of millions of frames, so
this module does the same work on whole arrays: the CRC-24 parity of every frame with a byte table, the fields
with shifts and masks of 64-bit words, altitude and squawk codes with tables built once *from pyModeS's own
functions* (so the Gillham and identity-code rules are pyModeS's, not ours), CPR positions with the DO-260B
formulas over sorted arrays. Tests check every field against pyModeS message by message.

Rows follow the SBS transmission types that dump1090 writes for each frame (``msg_type``):

====  ============================================  =========================================================
type  frames                                        columns filled
====  ============================================  =========================================================
1     DF17/18 identification (TC 1-4)               callsign
2     DF17/18 surface position (TC 5-8)             lat, lon (local decode), gs_mps, track_deg, on_ground
3     DF17/18 airborne position (TC 9-18, 20-22)    alt_m, lat, lon (lat/lon null until resolvable)
4     DF17/18 airborne velocity (TC 19)             gs_mps, track_deg (subtypes 1-2), vr_mps
5     DF0/4/20 altitude replies                     alt_m, on_ground
6     DF5/21 identity replies                       squawk, on_ground
7     DF16 air-air (ACAS) replies                   alt_m, on_ground
8     DF11 all-call replies                         on_ground (from the capability field)
====  ============================================  =========================================================

Which frames are trusted:

- DF11/17/18 carry their address in clear and a parity that must check (DF11: up to the 7-bit interrogator
  code). Failures are dropped and counted (``crc_failed``); no bit-error correction is attempted.
- DF0/4/5/16/20/21 overlay their parity with the address, so any bit error just yields another address. As
  dump1090 and pyModeS do, such a frame is kept only when its address was seen in a checked DF11/17/18 frame
  (in this batch, or within ``TRUSTED_ADDRESS_TTL_S`` before it); otherwise it is counted as
  ``unknown_address``.

Positions: CPR even/odd frames of one aircraft less than ``PAIR_WINDOW_S`` apart are decoded globally (the
newer frame gets the position); then frames without a usable pair are decoded locally against the last
accepted position of the same aircraft (no older than ``LOCAL_REF_MAX_AGE_S``), surface frames also against
the receiver's position when given. Positions that jump more than ``MAX_JUMP_M`` or imply a speed above
``MAX_SPEED_MPS`` from their neighbours are dropped and counted (``implausible``), as are velocity messages
above ``MAX_SPEED_MPS``.

>>> import numpy as np
>>> hexes = ["8D40058B58C901375147EFD09357", "8D40058B58C904A87F402D3B8C59", "8D406B902015A678D4D220AA4BDA"]
>>> frames, nbytes = frames_from_hex(hexes)
>>> rows, stats = decode_modes(np.array([1.0, 2.0, 3.0]), frames, nbytes)
>>> rows.icao24.tolist(), rows.msg_type.tolist(), rows.callsign[2]
(['40058b', '40058b', '406b90'], [3, 3, 1], 'EZY85MH')
>>> round(float(rows.lat[1]), 5), round(float(rows.lon[1]), 5), round(float(rows.alt_m[1]))
(49.81755, 6.08442, 11887)
>>> stats.unresolved_positions  # the first frame of the pair had no partner yet
1
"""
from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np
import pandas as pd

from centinela.geo.frames import haversine_m
from centinela.model import ADSB_COLUMNS, conform, empty_frame
from centinela.sources.stats import DecodeStats

FT_M = 0.3048  # international foot
KT_MPS = 1852.0 / 3600.0  # knot
FPM_MPS = FT_M / 60.0  # foot per minute

# CRC-24 generator polynomial of Mode S (ICAO Annex 10 Vol IV 3.1.2.3.3.1.2), without the x^24 term.
CRC24_GENERATOR = 0xFFF409
# DO-260B A.1.7: even/odd frames more than 10 s apart may straddle a latitude zone; pyModeS uses 10 s too.
PAIR_WINDOW_S = 10.0
# An airborne local decode is right when the reference lies within 180 NM (333 km; DO-260B A.1.7.5), a surface
# one within 45 NM. At MAX_SPEED_MPS an aircraft covers at most 180 km in 300 s; surface movers (< 100 kt)
# cover 15 km. So a reference up to 300 s old is safe for both.
LOCAL_REF_MAX_AGE_S = 300.0
# The plausibility limits of the brief: no aircraft we track flies faster than 600 m/s (Mach ~2 at altitude),
# and a position 1000 km from the last one is a decoding error whatever the time between them.
MAX_SPEED_MPS = 600.0
MAX_JUMP_M = 1_000_000.0
# Slack for time-stamp jitter and CPR quantisation (~5 m airborne): 1 km is 1.7 s at MAX_SPEED_MPS.
POSITION_TOLERANCE_M = 1_000.0
# How long a checked address vouches for address/parity replies, and how long CPR state is kept between
# batches; pyModeS's PipeDecoder evicts per-aircraft state after 300 s as well.
TRUSTED_ADDRESS_TTL_S = 300.0
STATE_TTL_S = 300.0
# Bound on the plausibility filter's refinement passes (each is vectorised; real data needs one or two).
MAX_FILTER_PASSES = 20

LONG_BYTES, SHORT_BYTES = 14, 7
_CPR_SCALE = float(1 << 17)
_ADDRESS_PARITY_DFS = (0, 4, 5, 16, 20, 21)
_SHORT_DFS = (0, 4, 5, 11)
_LONG_DFS = (16, 17, 18, 19, 20, 21, 24)
# DF18 control fields whose ME is not in the DF17 formats: coarse TIS-B (3), TIS-B management (4), reserved (7).
_DF18_OTHER_CF = (3, 4, 7)


# --- tables built once -----------------------------------------------------------------------------------

@lru_cache(maxsize=1)
def _crc_table() -> np.ndarray:
    table = np.zeros(256, dtype=np.uint32)
    for byte in range(256):
        c = byte << 16
        for _ in range(8):
            c = ((c << 1) ^ CRC24_GENERATOR) if c & 0x800000 else (c << 1)
        table[byte] = c & 0xFFFFFF
    return table


@lru_cache(maxsize=1)
def altitude_table_ft() -> np.ndarray:
    """Feet for each 13-bit altitude code (NaN: unknown or metric), from pyModeS.util.altcode."""
    from pyModeS.util import altcode

    out = np.full(8192, np.nan)
    for ac in range(8192):
        ft = altcode(f"{(4 << 27) | ac:08X}000000")  # a DF4 frame carrying this AC code
        if ft is not None:
            out[ac] = ft
    return out


@lru_cache(maxsize=1)
def squawk_table() -> np.ndarray:
    """The four octal digits for each 13-bit identity code, from pyModeS.util.idcode."""
    from pyModeS.util import idcode

    return np.array([idcode(f"{(5 << 27) | code:08X}000000") for code in range(8192)], dtype=object)


@lru_cache(maxsize=1)
def _callsign_chars() -> np.ndarray:
    # ICAO 6-bit alphabet: 1-26 letters, 32 space, 48-57 digits; anything else is invalid ('#').
    chars = np.full(64, ord("#"), dtype=np.uint8)
    chars[1:27] = np.arange(ord("A"), ord("Z") + 1)
    chars[32] = ord(" ")
    chars[48:58] = np.arange(ord("0"), ord("9") + 1)
    return chars


@lru_cache(maxsize=1)
def _surface_speed_kt() -> np.ndarray:
    """Ground speed (kt) for each 7-bit surface movement code (DO-260B A.2.3.3.1); NaN: no information."""
    kt = np.full(128, np.nan)
    kt[1] = 0.0
    # (first code, speed at first code, step) of each quantisation band
    bands = [(2, 0.125, 0.125), (9, 1.0, 0.25), (13, 2.0, 0.5), (39, 15.0, 1.0), (94, 70.0, 2.0),
             (109, 100.0, 5.0), (124, 175.0, 0.0)]
    for (lo, base, step), (hi, _, _) in zip(bands, bands[1:] + [(125, 0, 0)], strict=True):
        codes = np.arange(lo, hi)
        kt[codes] = base + (codes - lo) * step
    return kt


# --- bit-level helpers ------------------------------------------------------------------------------------

def frames_from_hex(hexes: list[str] | np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Hex strings (14 or 28 digits) to a ``(n, 14)`` uint8 frame array (short frames left-aligned) and the
    byte count of each frame. Raises ValueError on other lengths or non-hex digits.

    >>> f, n = frames_from_hex(["5D4840D6202CC3"])
    >>> f.shape, n.tolist()
    ((1, 14), [7])
    """
    texts = pd.Series(list(hexes), dtype="string")
    length = texts.str.len().to_numpy(dtype=np.int64, na_value=0)
    if not np.isin(length, (2 * SHORT_BYTES, 2 * LONG_BYTES)).all():
        raise ValueError("Mode S hex frames have 14 or 28 hex digits")
    padded = texts.str.pad(2 * LONG_BYTES, side="right", fillchar="0")
    raw = bytes.fromhex("".join(padded.tolist()))  # ValueError on a non-hex digit
    frames = np.frombuffer(raw, dtype=np.uint8).reshape(-1, LONG_BYTES).copy()
    return frames, (length // 2).astype(np.int64)


def frames_to_hex(frames: np.ndarray, nbytes: np.ndarray) -> np.ndarray:
    """The inverse of :func:`frames_from_hex`: uppercase hex strings (an object array)."""
    frames = np.ascontiguousarray(frames, dtype=np.uint8)
    if len(frames) == 0:
        return np.array([], dtype=object)
    text = frames.tobytes().hex().upper()
    full = np.array([text[i:i + 2 * LONG_BYTES] for i in range(0, len(text), 2 * LONG_BYTES)], dtype=object)
    short = np.asarray(nbytes) == SHORT_BYTES
    full[short] = [s[:2 * SHORT_BYTES] for s in full[short]]
    return full


def crc_syndrome(frames: np.ndarray, nbytes: np.ndarray) -> np.ndarray:
    """CRC-24 remainder of each frame's data XOR its parity field: 0 for a good DF11/17/18 frame, the
    address for a good address/parity reply. Frames whose length is neither 7 nor 14 get 0xFFFFFFFF."""
    table = _crc_table()
    out = np.full(len(frames), 0xFFFFFFFF, dtype=np.uint32)
    for n in (SHORT_BYTES, LONG_BYTES):
        sel = np.flatnonzero(nbytes == n)
        if sel.size == 0:
            continue
        f = frames[sel, :n].astype(np.uint32)
        crc = np.zeros(sel.size, dtype=np.uint32)
        for k in range(n - 3):
            crc = ((crc << 8) & 0xFFFFFF) ^ table[(crc >> 16) ^ f[:, k]]
        out[sel] = crc ^ ((f[:, n - 3] << 16) | (f[:, n - 2] << 8) | f[:, n - 1])
    return out


def _bits(word: np.ndarray, shift: int, width: int) -> np.ndarray:
    return ((word >> np.uint64(shift)) & np.uint64((1 << width) - 1)).astype(np.int64)


def _words(frames: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The first 32 bits and the 56-bit ME/MB field (bytes 4..10) of each frame as uint64 words."""
    b = frames.astype(np.uint64)
    head = (b[:, 0] << np.uint64(24)) | (b[:, 1] << np.uint64(16)) | (b[:, 2] << np.uint64(8)) | b[:, 3]
    me = np.zeros(len(frames), dtype=np.uint64)
    for k in range(7):
        me |= b[:, 4 + k] << np.uint64(8 * (6 - k))
    return head, me


# --- CPR ---------------------------------------------------------------------------------------------------

def cpr_nl(lat_deg: np.ndarray) -> np.ndarray:
    """Number of CPR longitude zones at each latitude (DO-260B A.1.7.2 closed form, NZ = 15)."""
    lat = np.abs(np.asarray(lat_deg, dtype=np.float64))
    with np.errstate(divide="ignore", invalid="ignore"):
        a = 1.0 - (1.0 - np.cos(np.pi / 30.0)) / np.cos(np.radians(lat)) ** 2
        nl = np.floor(2.0 * np.pi / np.arccos(a))
    nl = np.where(lat < 10.0, 59.0, nl)  # exact at the equator, where arccos(1) = 0
    nl = np.where(lat > 87.0, 1.0, np.where(lat == 87.0, 2.0, nl))
    return np.nan_to_num(nl, nan=1.0).astype(np.int64)


def cpr_global(lat_even: np.ndarray, lon_even: np.ndarray, lat_odd: np.ndarray, lon_odd: np.ndarray,
               newest_odd: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Airborne position from even/odd CPR pairs (raw 17-bit fields), for the newer frame of each pair.
    NaN where the two frames fall in different longitude-zone bands (DO-260B A.1.7.7)."""
    ye, xe = lat_even / _CPR_SCALE, lon_even / _CPR_SCALE
    yo, xo = lat_odd / _CPR_SCALE, lon_odd / _CPR_SCALE
    j = np.floor(59.0 * ye - 60.0 * yo + 0.5)
    rlat_e = 360.0 / 60.0 * (np.mod(j, 60.0) + ye)
    rlat_o = 360.0 / 59.0 * (np.mod(j, 59.0) + yo)
    rlat_e = np.where(rlat_e >= 270.0, rlat_e - 360.0, rlat_e)
    rlat_o = np.where(rlat_o >= 270.0, rlat_o - 360.0, rlat_o)
    odd = np.asarray(newest_odd, dtype=bool)
    lat = np.where(odd, rlat_o, rlat_e)
    nl = cpr_nl(lat)
    ni = np.maximum(nl - odd, 1)
    m = np.floor(xe * (nl - 1) - xo * nl + 0.5)
    lon = 360.0 / ni * (np.mod(m, ni) + np.where(odd, xo, xe))
    lon = np.where(lon >= 180.0, lon - 360.0, lon)
    bad = (cpr_nl(rlat_e) != cpr_nl(rlat_o)) | (np.abs(lat) > 90.0)
    return np.where(bad, np.nan, lat), np.where(bad, np.nan, lon)


def cpr_local(lat_cpr: np.ndarray, lon_cpr: np.ndarray, odd: np.ndarray, ref_lat: np.ndarray,
              ref_lon: np.ndarray, surface: np.ndarray | bool = False) -> tuple[np.ndarray, np.ndarray]:
    """Position of single CPR frames next to a reference position (DO-260B A.1.7.5; surface frames span a
    quarter of the airborne zones, A.1.7.6)."""
    span = np.where(surface, 90.0, 360.0)
    odd = np.asarray(odd, dtype=np.int64)
    y, x = lat_cpr / _CPR_SCALE, lon_cpr / _CPR_SCALE
    dlat = span / (60 - odd)
    j = np.floor(ref_lat / dlat) + np.floor(0.5 + np.mod(ref_lat, dlat) / dlat - y)
    lat = dlat * (j + y)
    dlon = span / np.maximum(cpr_nl(lat) - odd, 1)
    m = np.floor(ref_lon / dlon) + np.floor(0.5 + np.mod(ref_lon, dlon) / dlon - x)
    lon = dlon * (m + x)
    lon = np.where(lon >= 180.0, lon - 360.0, np.where(lon < -180.0, lon + 360.0, lon))
    return lat, lon


def plausible_positions(key: np.ndarray, t: np.ndarray, lat: np.ndarray, lon: np.ndarray,
                        max_speed_mps: float = MAX_SPEED_MPS, max_jump_m: float = MAX_JUMP_M,
                        tolerance_m: float = POSITION_TOLERANCE_M) -> np.ndarray:
    """Which positions to keep: rows sorted by (key, t), NaN positions ignored (and returned False).

    Two positions of one aircraft are inconsistent when they are more than ``max_jump_m`` apart or imply
    more than ``max_speed_mps`` (plus ``tolerance_m``). Like a sequential filter that compares each
    position with the last kept one, but on whole arrays: each pass drops the positions whose every
    neighbour disagrees with them (an end point only when its one neighbour is backed by its own other
    neighbour); when none is isolated but disagreements remain, the later position of each aircraft's first
    disagreement goes, as the sequential filter would drop it.

    >>> k = np.zeros(4, int); t = np.arange(4.0) * 10
    >>> plausible_positions(k, t, np.array([0.0, 0.01, 5.0, 0.03]), np.zeros(4)).tolist()
    [True, True, False, True]
    """
    keep = np.isfinite(lat) & np.isfinite(lon)
    for _ in range(MAX_FILTER_PASSES):
        idx = np.flatnonzero(keep)
        if idx.size < 2:
            break
        k, tt = key[idx], t[idx]
        same = k[1:] == k[:-1]
        dist = haversine_m(lat[idx[:-1]], lon[idx[:-1]], lat[idx[1:]], lon[idx[1:]])
        dt = np.abs(tt[1:] - tt[:-1])
        bad = same & ((dist > max_speed_mps * dt + tolerance_m) | (dist > max_jump_m))
        if not bad.any():
            break
        f = np.zeros(1, dtype=bool)
        bad_prev, bad_next = np.concatenate([f, bad]), np.concatenate([bad, f])
        has_prev, has_next = np.concatenate([f, same]), np.concatenate([same, f])
        # neighbour's other link is good: the neighbour is backed by a third position
        next_backed = np.concatenate([has_next[1:] & ~bad_next[1:], f])
        prev_backed = np.concatenate([f, has_prev[:-1] & ~bad_prev[:-1]])
        middle = bad_prev & bad_next
        first = ~has_prev & bad_next & next_backed
        last = ~has_next & bad_prev & prev_backed
        drop = middle | first | last
        if not drop.any():
            # no isolated outlier: drop the later end of each aircraft's first bad link
            link = np.flatnonzero(bad)
            group_of_link = np.cumsum(np.concatenate([[True], ~same]))[link + 1]
            _, first_of_group = np.unique(group_of_link, return_index=True)
            drop = np.zeros(idx.size, dtype=bool)
            drop[link[first_of_group] + 1] = True
        keep[idx[drop]] = False
    return keep


# --- the decoder -------------------------------------------------------------------------------------------

@dataclass
class _CprState:
    """Per-aircraft CPR frames carried from one batch to the next (last even, last odd, last position)."""

    key: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    t: np.ndarray = field(default_factory=lambda: np.zeros(0))
    odd: np.ndarray = field(default_factory=lambda: np.zeros(0, bool))
    lat_cpr: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    lon_cpr: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    surface: np.ndarray = field(default_factory=lambda: np.zeros(0, bool))
    lat: np.ndarray = field(default_factory=lambda: np.zeros(0))
    lon: np.ndarray = field(default_factory=lambda: np.zeros(0))


class ModeSDecoder:
    """Decodes batches of Mode S frames into ADSB_COLUMNS rows, keeping what the next batch needs (checked
    addresses, CPR frames, last positions), so a live feed decoded batch by batch gives the same rows as the
    whole recording decoded at once.

    ``reference`` is the receiver's (lat, lon), used only to resolve surface positions of aircraft with no
    position yet.
    """

    def __init__(self, reference: tuple[float, float] | None = None):
        self.reference = reference
        self._trusted_key = np.zeros(0, dtype=np.int64)
        self._trusted_t = np.zeros(0)
        self._cpr = _CprState()

    def decode(self, t: np.ndarray, frames: np.ndarray, nbytes: np.ndarray) -> tuple[pd.DataFrame, DecodeStats]:
        """Decode frames (``(n, 14)`` uint8, short frames left-aligned; ``nbytes`` 7 or 14) received at
        epoch seconds ``t``. Returns the rows, sorted by time (stable), and the counters."""
        t = np.asarray(t, dtype=np.float64)
        frames = np.asarray(frames, dtype=np.uint8).reshape(-1, LONG_BYTES)
        nbytes = np.asarray(nbytes, dtype=np.int64)
        stats = DecodeStats(records=len(t))
        if len(t) == 0:
            return empty_frame(ADSB_COLUMNS), stats

        head, me = _words(frames)
        df = np.minimum(frames[:, 0] >> 3, 24).astype(np.int64)
        length_ok = np.where(np.isin(df, _SHORT_DFS), nbytes == SHORT_BYTES,
                             np.isin(df, _LONG_DFS) & (nbytes == LONG_BYTES))
        known_df = np.isin(df, _SHORT_DFS + _LONG_DFS)
        syndrome = crc_syndrome(frames, nbytes).astype(np.int64)
        aa = (head & np.uint64(0xFFFFFF)).astype(np.int64)
        ctrl = _bits(head, 24, 3)  # CA (DF11/17) or CF (DF18)
        es = ((df == 17) | (df == 18)) & length_ok
        clear = es | ((df == 11) & length_ok)
        parity_ok = np.where(df == 11, (syndrome & ~0x7F) == 0, syndrome == 0)
        checked = clear & parity_ok
        stats.crc_failed = int((clear & ~parity_ok).sum())
        stats.malformed = int((known_df & ~length_ok).sum())

        overlay = np.isin(df, _ADDRESS_PARITY_DFS) & length_ok
        vouched = np.zeros(len(t), dtype=bool)
        vouched[overlay] = self._vouch(aa[checked], t[checked], syndrome[overlay], t[overlay])
        stats.unknown_address = int((overlay & ~vouched).sum())
        address = np.where(clear, aa, syndrome)

        tc = _bits(me, 51, 5)
        es_ok = checked & es & ~((df == 18) & np.isin(ctrl, _DF18_OTHER_CF))
        msg_type = np.full(len(t), -1, dtype=np.int64)
        msg_type[es_ok & (tc >= 1) & (tc <= 4)] = 1
        msg_type[es_ok & (tc >= 5) & (tc <= 8)] = 2
        msg_type[es_ok & (((tc >= 9) & (tc <= 18)) | ((tc >= 20) & (tc <= 22)))] = 3
        msg_type[es_ok & (tc == 19)] = 4
        msg_type[vouched & np.isin(df, (0, 4, 20))] = 5
        msg_type[vouched & np.isin(df, (5, 21))] = 6
        msg_type[vouched & (df == 16)] = 7
        msg_type[checked & (df == 11)] = 8
        skipped = (known_df & ~length_ok) | (clear & ~parity_ok) | (overlay & ~vouched)
        stats.unsupported = int(((msg_type < 0) & ~skipped).sum())

        rows = np.flatnonzero(msg_type >= 0)
        cols = self._fields(df[rows], ctrl[rows], tc[rows], head[rows], me[rows], msg_type[rows])
        cols["t"] = t[rows]
        cols["msg_type"] = msg_type[rows]
        key = address[rows]

        drop = cols.pop("implausible_speed")
        position = np.isin(msg_type[rows], (2, 3))
        lat, lon, pos_drop = self._positions(key[position], t[rows][position], me[rows][position],
                                             msg_type[rows][position] == 2)
        cols["lat"] = np.full(rows.size, np.nan)
        cols["lon"] = np.full(rows.size, np.nan)
        cols["lat"][position], cols["lon"][position] = lat, lon
        drop[position] |= pos_drop
        stats.implausible = int(drop.sum())
        stats.unresolved_positions = int((position & ~drop & np.isnan(cols["lat"])).sum())

        keep = ~drop
        order = np.argsort(cols["t"][keep], kind="stable")
        out = {name: values[keep][order] for name, values in cols.items()}
        out["icao24"] = _hex_addresses(key[keep][order])
        stats.rows = int(keep.sum())
        return _to_frame(out), stats

    # -- pieces ----------------------------------------------------------------------------------------------

    def _vouch(self, checked_key: np.ndarray, checked_t: np.ndarray, reply_key: np.ndarray,
               reply_t: np.ndarray) -> np.ndarray:
        """Which address/parity replies come from an address a checked frame showed at most
        TRUSTED_ADDRESS_TTL_S before them (in this batch or a previous one); keeps the latest sighting of
        each address for the next batch."""
        keys = np.concatenate([self._trusted_key, checked_key, reply_key])
        times = np.concatenate([self._trusted_t, checked_t, reply_t])
        is_reply = np.arange(keys.size) >= self._trusted_key.size + checked_key.size
        order = np.lexsort((is_reply, times, keys))  # a sighting at the same time comes first
        k, tt, reply = keys[order], times[order], is_reply[order]
        idx = np.arange(k.size)
        last_seen = np.maximum.accumulate(np.where(~reply, idx, -1))
        seen = np.maximum(last_seen, 0)
        ok_sorted = reply & (last_seen >= 0) & (k[seen] == k) & (tt - tt[seen] <= TRUSTED_ADDRESS_TTL_S)
        vouched = np.zeros(keys.size, dtype=bool)
        vouched[order] = ok_sorted
        latest = np.flatnonzero(~reply)
        if latest.size:
            # the last sighting of each address (ordering is by address, then time)
            ks = k[latest]
            keep = latest[np.concatenate([ks[1:] != ks[:-1], [True]])]
            fresh = keep[tt[keep] >= times.max() - TRUSTED_ADDRESS_TTL_S]
            self._trusted_key, self._trusted_t = k[fresh], tt[fresh]
        return vouched[-reply_key.size:] if reply_key.size else np.zeros(0, dtype=bool)

    @staticmethod
    def _fields(df, ctrl, tc, head, me, msg_type) -> dict[str, np.ndarray]:
        n = df.size
        alt_ft = np.full(n, np.nan)
        gs_kt = np.full(n, np.nan)
        track = np.full(n, np.nan)
        vr_fpm = np.full(n, np.nan)
        ground = np.full(n, -1, dtype=np.int8)  # -1 unknown, 0 airborne, 1 on the ground
        alt_table = altitude_table_ft()

        # altitude replies (DF0/4/16/20): the 13-bit AC field
        ac_rows = np.isin(msg_type, (5, 7))
        alt_ft[ac_rows] = alt_table[_bits(head[ac_rows], 0, 13)]
        # ES airborne position: 12-bit barometric code (insert the M bit) or GNSS height in metres
        pos = msg_type == 3
        ac12 = _bits(me, 36, 12)
        baro = pos & (tc <= 18)
        alt_ft[baro] = alt_table[((ac12[baro] & 0xFC0) << 1) | (ac12[baro] & 0x3F)]
        gnss = pos & (tc >= 20)
        alt_ft[gnss] = ac12[gnss] / FT_M  # GNSS height is reported in metres; keep feet until the end

        # ES airborne velocity, subtypes 1-2 (ground speed; subtype 2 in units of 4 kt)
        vel = msg_type == 4
        subtype = _bits(me, 48, 3)
        gsv = vel & ((subtype == 1) | (subtype == 2))
        factor = np.where(subtype == 2, 4.0, 1.0)
        v_ew_raw, v_ns_raw = _bits(me, 32, 10), _bits(me, 21, 10)
        v_ew = np.where(_bits(me, 42, 1) == 1, -1.0, 1.0) * (v_ew_raw - 1) * factor
        v_ns = np.where(_bits(me, 31, 1) == 1, -1.0, 1.0) * (v_ns_raw - 1) * factor
        has_v = gsv & (v_ew_raw > 0) & (v_ns_raw > 0)
        gs_kt[has_v] = np.hypot(v_ew[has_v], v_ns[has_v])
        track[has_v] = np.degrees(np.arctan2(v_ew[has_v], v_ns[has_v])) % 360.0
        vr_raw = _bits(me, 10, 9)
        has_vr = vel & (vr_raw > 0)
        vr_fpm[has_vr] = np.where(_bits(me[has_vr], 19, 1) == 1, -1.0, 1.0) * (vr_raw[has_vr] - 1) * 64.0

        # ES surface position: movement code and track
        surf = msg_type == 2
        gs_kt[surf] = _surface_speed_kt()[_bits(me[surf], 44, 7)]
        trk_ok = surf & (_bits(me, 43, 1) == 1)
        track[trk_ok] = _bits(me[trk_ok], 36, 7) * 360.0 / 128.0

        # on the ground: flight status (DF4/5/20/21), vertical status (DF0/16), capability (DF11/17)
        fs = _bits(head, 24, 3)
        fs_rows = np.isin(df, (4, 5, 20, 21))
        ground[fs_rows & np.isin(fs, (0, 2))] = 0
        ground[fs_rows & np.isin(fs, (1, 3))] = 1
        vs_rows = np.isin(df, (0, 16))
        ground[vs_rows] = _bits(head[vs_rows], 26, 1)
        ca_rows = (df == 11) | (df == 17)
        ground[ca_rows & (ctrl == 4)] = 1
        ground[ca_rows & (ctrl == 5)] = 0
        ground[surf] = 1
        ground[pos] = 0

        squawk = np.full(n, None, dtype=object)
        sq = msg_type == 6
        squawk[sq] = squawk_table()[_bits(head[sq], 0, 13)]

        callsign = np.full(n, None, dtype=object)
        ident = np.flatnonzero(msg_type == 1)
        if ident.size:
            words, inverse = np.unique(me[ident] & np.uint64((1 << 48) - 1), return_inverse=True)
            codes = np.stack([_bits(words, 42 - 6 * k, 6) for k in range(8)], axis=1)
            text = _callsign_chars()[codes].view("S8").ravel()
            names = np.array([s.decode("ascii").strip() or None for s in text], dtype=object)
            callsign[ident] = names[inverse.ravel()]

        gs = gs_kt * KT_MPS
        return {
            "alt_m": alt_ft * FT_M,
            "gs_mps": gs,
            "track_deg": track,
            "vr_mps": vr_fpm * FPM_MPS,
            "on_ground": ground,
            "squawk": squawk,
            "callsign": callsign,
            "implausible_speed": np.nan_to_num(gs) > MAX_SPEED_MPS,
        }

    def _positions(self, key: np.ndarray, t: np.ndarray, me: np.ndarray,
                   surface: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Resolve CPR frames (with the carried state in front); return lat, lon and the implausible mask."""
        new = {"key": key, "t": t, "odd": _bits(me, 34, 1).astype(bool), "lat_cpr": _bits(me, 17, 17),
               "lon_cpr": _bits(me, 0, 17), "surface": surface, "lat": np.full(key.size, np.nan),
               "lon": np.full(key.size, np.nan)}
        old = self._cpr
        n_old = old.key.size
        a = {name: np.concatenate([getattr(old, name), values]) for name, values in new.items()}
        carried = np.arange(a["key"].size) < n_old
        order = np.lexsort((np.arange(a["key"].size), a["t"], a["key"]))
        a = {name: values[order] for name, values in a.items()}
        carried = carried[order]
        lat, lon, keep, tried = _resolve_cpr(a, carried, self.reference)
        # carry to the next batch: per aircraft the last even and odd airborne frames and the last position
        self._cpr = _next_state(a, lat, lon, keep)
        back = np.empty_like(order)
        back[order] = np.arange(order.size)
        mine = back[n_old:]
        implausible = tried[mine] & ~keep[mine]
        return np.where(keep[mine], lat[mine], np.nan), np.where(keep[mine], lon[mine], np.nan), implausible


def _resolve_cpr(a: dict, carried: np.ndarray, reference) -> tuple[np.ndarray, ...]:
    """Global pair decoding, then local decoding, each followed by the plausibility filter. ``a`` is sorted
    by (aircraft, time); carried rows already hold their lat/lon. Returns lat, lon, which rows to keep and
    which rows had a candidate position (kept or not)."""
    key, t, odd, surface = a["key"], a["t"], a["odd"], a["surface"]
    n = key.size
    if n == 0:
        return np.zeros(0), np.zeros(0), np.zeros(0, bool), np.zeros(0, bool)
    idx = np.arange(n)
    lat, lon = a["lat"].copy(), a["lon"].copy()
    known = carried & np.isfinite(lat)

    # global: pair each airborne frame with the latest earlier frame of the other format
    air = ~surface
    last_even = np.maximum.accumulate(np.where(air & ~odd, idx, -1))
    last_odd = np.maximum.accumulate(np.where(air & odd, idx, -1))
    partner = np.where(odd, last_even, last_odd)
    p = np.maximum(partner, 0)
    paired = air & ~known & (partner >= 0) & (key[p] == key) & (t - t[p] <= PAIR_WINDOW_S)
    sel = np.flatnonzero(paired)
    if sel.size:
        ev = np.where(odd[sel], p[sel], sel)
        od = np.where(odd[sel], sel, p[sel])
        lat[sel], lon[sel] = cpr_global(a["lat_cpr"][ev], a["lon_cpr"][ev], a["lat_cpr"][od], a["lon_cpr"][od],
                                        odd[sel])
    keep = plausible_positions(key, t, lat, lon)
    tried = np.isfinite(lat)

    # local: frames still without a position, against the last kept position of the same aircraft
    todo = ~known & ~keep
    ref = np.maximum.accumulate(np.where(keep, idx, -1))
    ref = np.concatenate([[-1], ref[:-1]])  # strictly earlier rows
    r = np.maximum(ref, 0)
    has_ref = todo & (ref >= 0) & (key[r] == key) & (t - t[r] <= LOCAL_REF_MAX_AGE_S)
    ref_lat, ref_lon = lat[r], lon[r]
    if reference is not None:
        use_receiver = todo & surface & ~has_ref
        ref_lat = np.where(use_receiver, reference[0], ref_lat)
        ref_lon = np.where(use_receiver, reference[1], ref_lon)
        has_ref |= use_receiver
    sel = np.flatnonzero(has_ref)
    lat = np.where(todo, np.nan, lat)
    lon = np.where(todo, np.nan, lon)
    if sel.size:
        lat[sel], lon[sel] = cpr_local(a["lat_cpr"][sel], a["lon_cpr"][sel], odd[sel], ref_lat[sel],
                                       ref_lon[sel], surface[sel])
    keep = plausible_positions(key, t, lat, lon)
    return lat, lon, keep, tried | np.isfinite(lat)


def _next_state(a: dict, lat: np.ndarray, lon: np.ndarray, keep: np.ndarray) -> _CprState:
    """Per aircraft: the last even and last odd airborne frame and the last kept position, if recent."""
    key, t = a["key"], a["t"]
    n = key.size
    if n == 0:
        return _CprState()
    idx = np.arange(n)
    last_of_key = np.concatenate([key[1:] != key[:-1], [True]])
    group_end = np.flatnonzero(last_of_key)
    group = np.cumsum(np.concatenate([[0], last_of_key[:-1]]))
    chosen = []
    for mask in (~a["surface"] & ~a["odd"], ~a["surface"] & a["odd"], keep):
        latest = np.full(group_end.size, -1)
        np.maximum.at(latest, group[mask], idx[mask])
        chosen.append(latest[latest >= 0])
    pick = np.unique(np.concatenate(chosen))
    pick = pick[t[pick] >= t.max() - STATE_TTL_S]
    lat_k, lon_k = np.where(keep, lat, np.nan), np.where(keep, lon, np.nan)
    return _CprState(key=key[pick], t=t[pick], odd=a["odd"][pick], lat_cpr=a["lat_cpr"][pick],
                     lon_cpr=a["lon_cpr"][pick], surface=a["surface"][pick], lat=lat_k[pick], lon=lon_k[pick])


def _hex_addresses(key: np.ndarray) -> pd.arrays.ArrowStringArray:
    uniques, inverse = np.unique(key, return_inverse=True)
    text = np.array([f"{int(k) & 0xFFFFFF:06x}" for k in uniques], dtype=object)
    return pd.array(text[inverse.ravel()], dtype="string")


def _to_frame(cols: dict[str, np.ndarray]) -> pd.DataFrame:
    ground = cols.pop("on_ground")
    on_ground = pd.array(ground == 1, dtype="boolean")
    on_ground[ground < 0] = pd.NA
    frame = pd.DataFrame({
        "t": cols["t"],
        "icao24": cols["icao24"],
        "msg_type": cols["msg_type"],
        "callsign": pd.array(cols["callsign"], dtype="string"),
        "alt_m": cols["alt_m"],
        "gs_mps": cols["gs_mps"],
        "track_deg": cols["track_deg"],
        "lat": cols["lat"],
        "lon": cols["lon"],
        "vr_mps": cols["vr_mps"],
        "squawk": pd.array(cols["squawk"], dtype="string"),
        "on_ground": on_ground,
    })
    return conform(frame, ADSB_COLUMNS)


def decode_modes(t: np.ndarray, frames: np.ndarray, nbytes: np.ndarray,
                 reference: tuple[float, float] | None = None) -> tuple[pd.DataFrame, DecodeStats]:
    """Decode a whole recording of Mode S frames at once (see :class:`ModeSDecoder`)."""
    return ModeSDecoder(reference).decode(t, frames, nbytes)
