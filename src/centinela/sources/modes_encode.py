"""ADSB_COLUMNS rows to Mode S frames — the inverse of :mod:`centinela.sources.modes` — and the ``adsb.beast``
and ``adsb.hex`` files that carry them, so the simulator can emit what a real receiver records.

One row gives one frame, chosen by ``msg_type``:

====  ===========================================================================================
type  frame
====  ===========================================================================================
1     DF17 identification (TC 4), from callsign
3     DF17 airborne position (TC 11: barometric altitude in 25 ft steps); even and odd CPR formats
      alternate per aircraft, as transponders alternate them
4     DF17 airborne velocity (subtype 1), from gs_mps, track_deg, vr_mps
5     DF4 altitude reply (25 ft steps)
6     DF5 identity reply, from squawk
8     DF11 all-call reply
====  ===========================================================================================

Other types (2 surface position, 7 air-air) are not written and raise ValueError. Every frame gets a correct
CRC-24 parity (overlaid with the address for DF4/5).

>>> import pandas as pd
>>> rows = pd.DataFrame({"t": [0.0], "icao24": ["406b90"], "msg_type": [1], "callsign": ["EZY85MH"]})
>>> frames, nbytes = encode_adsb(rows)
>>> from centinela.sources.modes import frames_to_hex
>>> frames_to_hex(frames, nbytes)[0]
'8D406B902015A678D4D220AA4BDA'
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from centinela.sources.modes import FPM_MPS, FT_M, KT_MPS, LONG_BYTES, SHORT_BYTES, cpr_nl, crc_syndrome

BEAST_ESCAPE = 0x1A
BEAST_TICKS_PER_S = 12_000_000  # the Beast time stamp counts a 12 MHz clock
BEAST_TYPE = {2: ord("1"), SHORT_BYTES: ord("2"), LONG_BYTES: ord("3")}  # payload bytes -> frame type
# ES identification type code 4 = aircraft category set A; category 0 = no category information.
IDENT_TYPECODE = 4
# ES airborne position type code 11: barometric altitude, NUCp 7 (a typical GNSS source).
AIRBORNE_POSITION_TYPECODE = 11
VELOCITY_TYPECODE = 19
# Capability field: 5 airborne, 4 on the ground. A row that does not say is written as airborne (what nearly
# every frame a receiver hears is), so it reads back with on_ground False.
CAPABILITY_AIRBORNE, CAPABILITY_GROUND = 5, 4
# The 25-ft altitude code spans -1000 .. 50,175 ft (11 bits); the velocity fields 10 bits, vertical rate 9.
ALT25_MIN_FT, ALT25_MAX_FT = -1000.0, 50_175.0


def _altitude_code_13(alt_m: np.ndarray) -> np.ndarray:
    """13-bit AC code with Q=1 (25 ft steps); 0 (unknown) where the altitude is missing."""
    alt_ft = np.clip(alt_m / FT_M, ALT25_MIN_FT, ALT25_MAX_FT)
    n = np.round((alt_ft + 1000.0) / 25.0)
    n = np.where(np.isfinite(n), n, 0).astype(np.int64)
    code = ((n & 0x7E0) << 2) | ((n & 0x10) << 1) | (n & 0xF) | 0x10
    return np.where(np.isfinite(alt_m), code, 0)


def _identity_code_13(squawk: pd.Series) -> np.ndarray:
    """13-bit identity code of four octal digits (C1 A1 C2 A2 C4 A4 X B1 D1 B2 D2 B4 D4)."""
    text = squawk.astype("string").fillna("0000")
    if not text.str.fullmatch(r"[0-7]{4}").all():
        raise ValueError("squawk must be four octal digits")
    digits = np.array([[int(c) for c in s] for s in text], dtype=np.int64).reshape(-1, 4)
    a, b, c, d = digits.T
    # (digit, its bit value) -> bit position from the MSB of the 13-bit field
    layout = [(c, 1, 0), (a, 1, 1), (c, 2, 2), (a, 2, 3), (c, 4, 4), (a, 4, 5), (b, 1, 7), (d, 1, 8),
              (b, 2, 9), (d, 2, 10), (b, 4, 11), (d, 4, 12)]
    code = np.zeros(len(text), dtype=np.int64)
    for digit, value, pos in layout:
        code |= ((digit & value) > 0).astype(np.int64) << (12 - pos)
    return code


def _callsign_bits(callsign: pd.Series) -> np.ndarray:
    """48-bit ICAO 6-bit encoding of up to eight characters A-Z, 0-9 and space."""
    text = callsign.astype("string").fillna("").str.upper().str.ljust(8)
    if not text.str.fullmatch(r"[A-Z0-9 ]{8}").all():
        raise ValueError("callsign must be up to 8 characters A-Z, 0-9 or space")
    chars = np.frombuffer("".join(text).encode("ascii"), dtype=np.uint8).reshape(-1, 8).astype(np.int64)
    codes = chars & 0x3F  # letters map to 1..26; digits and space keep their ASCII code
    bits = np.zeros(len(text), dtype=np.int64)
    for k in range(8):
        bits |= codes[:, k] << (42 - 6 * k)
    return bits


def cpr_encode(lat: np.ndarray, lon: np.ndarray, odd: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Airborne CPR encoding (DO-260B A.1.7.1): 17-bit latitude and longitude fields."""
    odd = np.asarray(odd, dtype=np.int64)
    scale = float(1 << 17)
    dlat = 360.0 / (60 - odd)
    yz = np.floor(scale * np.mod(lat, dlat) / dlat + 0.5)
    rlat = dlat * (yz / scale + np.floor(lat / dlat))
    dlon = 360.0 / np.maximum(cpr_nl(rlat) - odd, 1)
    xz = np.floor(scale * np.mod(lon, dlon) / dlon + 0.5)
    return yz.astype(np.int64) & 0x1FFFF, xz.astype(np.int64) & 0x1FFFF


def encode_adsb(rows: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """Encode ADSB_COLUMNS rows as Mode S frames: a ``(n, 14)`` uint8 array and the byte count of each."""
    n = len(rows)
    msg_type = rows["msg_type"].to_numpy(dtype=np.int64)
    unsupported = ~np.isin(msg_type, (1, 3, 4, 5, 6, 8))
    if unsupported.any():
        raise ValueError(f"cannot encode msg_type {int(msg_type[unsupported][0])} (only 1, 3, 4, 5, 6, 8)")
    icao_text = rows["icao24"].astype("string")
    address = np.array([int(a, 16) for a in icao_text], dtype=np.int64)

    def col(name: str) -> np.ndarray:
        return rows[name].to_numpy(dtype=np.float64, na_value=np.nan) if name in rows else np.full(n, np.nan)

    ground = rows["on_ground"].astype("boolean") if "on_ground" in rows else pd.Series(pd.NA, index=rows.index,
                                                                                         dtype="boolean")
    ca = np.where(ground.fillna(False), CAPABILITY_GROUND, CAPABILITY_AIRBORNE).astype(np.int64)
    me = np.zeros(n, dtype=np.int64)

    ident = msg_type == 1
    if ident.any():
        me[ident] = (IDENT_TYPECODE << 51) | _callsign_bits(rows["callsign"][ident])

    pos = np.flatnonzero(msg_type == 3)
    if pos.size:
        # alternate even/odd per aircraft in row order
        order = np.lexsort((pos, address[pos]))
        grouped = address[pos][order]
        starts = np.concatenate([[True], grouped[1:] != grouped[:-1]])
        rank = np.arange(pos.size) - np.maximum.accumulate(np.where(starts, np.arange(pos.size), 0))
        odd = np.empty(pos.size, dtype=np.int64)
        odd[order] = rank % 2
        ac13 = _altitude_code_13(col("alt_m")[pos])
        ac12 = ((ac13 & 0x1F80) >> 1) | (ac13 & 0x3F)
        lat_cpr, lon_cpr = cpr_encode(col("lat")[pos], col("lon")[pos], odd)
        me[pos] = ((AIRBORNE_POSITION_TYPECODE << 51) | (ac12 << 36) | (odd << 34) | (lat_cpr << 17) | lon_cpr)

    vel = msg_type == 4
    if vel.any():
        gs_kt = col("gs_mps")[vel] / KT_MPS
        track = np.radians(col("track_deg")[vel])
        v_ew, v_ns = gs_kt * np.sin(track), gs_kt * np.cos(track)

        def speed_field(v: np.ndarray) -> np.ndarray:
            return np.where(np.isfinite(v), np.minimum(np.round(np.abs(np.nan_to_num(v))) + 1, 1023), 0)

        vr_fpm = col("vr_mps")[vel] / FPM_MPS
        vr = np.where(np.isfinite(vr_fpm), np.minimum(np.round(np.abs(np.nan_to_num(vr_fpm)) / 64.0) + 1, 511), 0)
        me[vel] = ((VELOCITY_TYPECODE << 51) | (1 << 48)
                   | ((np.nan_to_num(v_ew) < 0).astype(np.int64) << 42) | (speed_field(v_ew).astype(np.int64) << 32)
                   | ((np.nan_to_num(v_ns) < 0).astype(np.int64) << 31) | (speed_field(v_ns).astype(np.int64) << 21)
                   | (1 << 20)  # vertical rate source: barometric
                   | ((np.nan_to_num(vr_fpm) < 0).astype(np.int64) << 19) | (vr.astype(np.int64) << 10))

    # header word (first 32 bits) of every frame
    fs = ground.fillna(False).to_numpy(dtype=np.int64)  # flight status: 0 airborne, 1 on the ground
    es = np.isin(msg_type, (1, 3, 4))
    head = np.where(es, (17 << 27) | (ca << 24) | address, 0)
    head = np.where(msg_type == 5, (4 << 27) | (fs << 24) | _altitude_code_13(col("alt_m")), head)
    if (msg_type == 6).any():
        head[msg_type == 6] = (5 << 27) | (fs[msg_type == 6] << 24) | _identity_code_13(rows["squawk"][msg_type == 6])
    head = np.where(msg_type == 8, (11 << 27) | (ca << 24) | address, head)

    frames = np.zeros((n, LONG_BYTES), dtype=np.uint8)
    for k in range(4):
        frames[:, k] = (head >> (24 - 8 * k)) & 0xFF
    for k in range(7):
        frames[es, 4 + k] = (me[es] >> (48 - 8 * k)) & 0xFF
    nbytes = np.where(es, LONG_BYTES, SHORT_BYTES)
    parity = crc_syndrome(frames, nbytes).astype(np.int64)  # parity bytes are still zero: this is the CRC
    parity = np.where(np.isin(msg_type, (5, 6)), parity ^ address, parity)
    for k in range(3):
        byte = (parity >> (16 - 8 * k)) & 0xFF
        frames[es, 11 + k] = byte[es]
        frames[~es, 4 + k] = byte[~es]
    return frames, nbytes


def beast_bytes(ticks: np.ndarray, frames: np.ndarray, nbytes: np.ndarray,
                signal: np.ndarray | int = 0x80) -> bytes:
    """Beast binary frames: 0x1A, type ('1' Mode A/C, '2' short, '3' long), 48-bit 12 MHz time stamp, signal
    byte, payload; every 0x1A after the leading one is doubled."""
    n = len(nbytes)
    nbytes = np.asarray(nbytes, dtype=np.int64)
    body = np.zeros((n, 9 + LONG_BYTES), dtype=np.uint8)  # marker, type, 6 time bytes, signal
    body[:, 0] = BEAST_ESCAPE
    body[:, 1] = np.select([nbytes == 2, nbytes == SHORT_BYTES], [BEAST_TYPE[2], BEAST_TYPE[SHORT_BYTES]],
                           BEAST_TYPE[LONG_BYTES])
    ticks = np.asarray(ticks, dtype=np.int64)
    for k in range(6):
        body[:, 2 + k] = (ticks >> (40 - 8 * k)) & 0xFF
    body[:, 8] = np.broadcast_to(np.asarray(signal, dtype=np.uint8), (n,))
    body[:, 9:] = frames[:, :LONG_BYTES]
    used = np.arange(body.shape[1])[None, :] < (9 + nbytes)[:, None]
    copies = used * (1 + ((body == BEAST_ESCAPE) & (np.arange(body.shape[1]) > 0)[None, :]))
    return np.repeat(body.ravel(), copies.ravel()).tobytes()


def write_beast(rows: pd.DataFrame, path: str | Path, t0_s: float | None = None) -> float:
    """Write rows as a Beast recording (``adsb.beast``). Time stamps count 12 MHz ticks from ``t0_s`` (the first
    row's time by default); returns ``t0_s``, which a reader needs back (sensors.toml ``date`` + ``start``)."""
    frames, nbytes = encode_adsb(rows)
    t = rows["t"].to_numpy(dtype=np.float64)
    t0 = float(t.min()) if t0_s is None and len(t) else float(t0_s or 0.0)
    ticks = np.round((t - t0) * BEAST_TICKS_PER_S).astype(np.int64)
    Path(path).write_bytes(beast_bytes(ticks, frames, nbytes))
    return t0


def write_hex(rows: pd.DataFrame, path: str | Path) -> None:
    """Write rows as ``adsb.hex``: one ``T HEX`` line per frame, T in epoch seconds (microseconds kept)."""
    from centinela.sources.modes import frames_to_hex

    frames, nbytes = encode_adsb(rows)
    t = rows["t"].to_numpy(dtype=np.float64)
    lines = [f"{ti:.6f} {h}\n" for ti, h in zip(t, frames_to_hex(frames, nbytes), strict=True)]
    Path(path).write_text("".join(lines), encoding="ascii")
