"""EUROCONTROL ASTERIX radar data: CAT048 monoradar target reports in, PLOT_COLUMNS out, and back.

Files: ``plots.ast`` (concatenated data blocks, as a radar's recorder writes them) and ``plots.pcap`` (a
capture of the UDP stream that carries them). A data block is ``CAT``, ``LEN`` (2 bytes, whole block) and
records; a record is an FSPEC (one bit per item of the category's UAP, extended by FX bits) and the items.

Decoding is our own, in NumPy: the blocks are walked one by one (they chain by length), then the k-th record
of every block is decoded at once, item by item in UAP order, so the cost per record is a few array
operations rather than a Python object per item. Items read (EUROCONTROL CAT048 ed. 1.21):

- I010 SAC/SIC — mapped to the sensor of ``sensors.toml`` with the same ``sac``/``sic``
- I140 time of day (1/128 s) — to epoch seconds with the recording's date (``sensors.toml`` ``date``),
  unwrapped across midnight; a live feed uses the arrival time's date
- I020 target report descriptor (TYP: PSR, SSR, Mode S, combined)
- I040 measured position: RHO (1/256 NM, slant range) and THETA (360/2^16 deg)
- I070 Mode 3/A code (dropped when marked not validated), I090 flight level (1/4 FL, dropped when not
  validated; converted to metres of pressure altitude), I220 aircraft address, I240 identification

Every other item of the UAP is skipped by its length. CAT034 service messages (north marker, sector crossing,
antenna rotation period) are read into a separate frame. Other categories are counted as unsupported. The
reference decoder (the ``asterix-decoder`` package) gives the same values on its sample recordings; our
decoder is used because it is about two orders of magnitude faster (``bench/README.md``).

Writing: :func:`write_cat048` encodes plots as CAT048 with I010, I140, I020, I040 and, when present, I070,
I090, I220, I240, in data blocks of one sensor's sector, with CAT034 north-marker and sector-crossing
messages for radars with a known scan period.

>>> import pandas as pd, tempfile, pathlib
>>> from centinela.model import Sensor
>>> ssr = Sensor("SSR-1", "ssr", -12.5, -73.9, 2500.0, scan_s=4.0, sac=25, sic=201)
>>> plots = pd.DataFrame({"t": [1780310700.5], "sensor": ["SSR-1"], "range_m": [45210.3],
...                       "azimuth_deg": [87.12], "alt_m": [3048.0], "squawk": ["7500"]})
>>> p = pathlib.Path(tempfile.mkdtemp()) / "plots.ast"
>>> write_cat048(plots, [ssr], p)
>>> back, stats = read_asterix(p, [ssr], date="2026-06-01")
>>> back.sensor[0], round(float(back.range_m[0]), 1), round(float(back.azimuth_deg[0]), 3), back.squawk[0]
('SSR-1', 45207.6, 87.122, '7500')
>>> float(back.t[0]), round(float(back.alt_m[0]), 1), stats.rows
(1780310700.5, 3048.0, 1)
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
import pandas as pd

from centinela.errors import InputError
from centinela.model import PLOT_COLUMNS, Sensor, conform, empty_frame
from centinela.sources.clock import (
    SECONDS_PER_DAY,
    day_start_epoch_s,
    time_of_day_near_epoch_s,
    time_of_day_to_epoch_s,
)
from centinela.sources.pcap import read_udp_payloads
from centinela.sources.stats import DecodeStats

CAT048, CAT034 = 48, 34
NM_M = 1852.0  # international nautical mile
FT_M = 0.3048
RHO_LSB_NM = 1.0 / 256.0  # I048/040
THETA_LSB_DEG = 360.0 / 65536.0  # I048/040
TOD_LSB_S = 1.0 / 128.0  # I048/140, I034/030
FL_LSB = 0.25  # I048/090, flight levels (100 ft)
SECTOR_LSB_DEG = 360.0 / 256.0  # I034/020
PERIOD_LSB_S = 1.0 / 128.0  # I034/041
MAX_RHO_M = 65535 * RHO_LSB_NM * NM_M  # ~474 km: the largest range I040 can carry
# I020 TYP values (CAT048 ed. 1.21): what detected the target
TYP_PSR, TYP_SSR, TYP_MODE_S_ROLL_CALL = 1, 2, 5
# Writer: radars send one block per sector; 8 sectors per scan, and at most 50 records (<= 1250 bytes, one
# UDP datagram on a 1500-byte MTU) per block. Without a scan period, blocks of one second.
SECTORS_PER_SCAN = 8
MAX_RECORDS_PER_BLOCK = 50
DEFAULT_BLOCK_S = 1.0
# Redundant radar LANs deliver every datagram twice; identical payloads this close in capture time are one.
DUPLICATE_WINDOW_S = 2.0
MAX_EXTENTS = 8  # FX-extended items longer than this are taken as corrupt


# --- the UAPs: how long each item is -----------------------------------------------------------------------

@dataclass(frozen=True)
class Fixed:
    size: int


@dataclass(frozen=True)
class Extended:
    """Variable length: one octet, then more while the FX bit (bit 1) is set."""


@dataclass(frozen=True)
class Repeated:
    """A repetition factor octet, then that many elements."""
    size: int


@dataclass(frozen=True)
class Explicit:
    """A length octet counting itself."""


@dataclass(frozen=True)
class Compound:
    """A primary subfield (FX-extended), then the subfields its bits announce (0: a spare bit)."""
    subfields: tuple  # int (fixed size) or Repeated


CAT048_UAP: tuple[tuple[str, object], ...] = (
    ("010", Fixed(2)), ("140", Fixed(3)), ("020", Extended()), ("040", Fixed(4)), ("070", Fixed(2)),
    ("090", Fixed(2)), ("130", Compound((1, 1, 1, 1, 1, 1, 1))),
    ("220", Fixed(3)), ("240", Fixed(6)), ("250", Repeated(8)), ("161", Fixed(2)), ("042", Fixed(4)),
    ("200", Fixed(4)), ("170", Extended()),
    ("210", Fixed(4)), ("030", Extended()), ("080", Fixed(2)), ("100", Fixed(4)), ("110", Fixed(2)),
    ("120", Compound((2, Repeated(6)))), ("230", Fixed(2)),
    ("260", Fixed(7)), ("055", Fixed(1)), ("050", Fixed(2)), ("065", Fixed(1)), ("060", Fixed(2)),
    ("SP", Explicit()), ("RE", Explicit()),
)
CAT034_UAP: tuple[tuple[str, object], ...] = (
    ("010", Fixed(2)), ("000", Fixed(1)), ("030", Fixed(3)), ("020", Fixed(1)), ("041", Fixed(2)),
    ("050", Compound((1, 0, 0, 1, 1, 2))), ("060", Compound((1, 0, 0, 1, 1, 1))),
    ("070", Repeated(2)), ("100", Fixed(8)), ("110", Fixed(1)), ("120", Fixed(8)), ("090", Fixed(2)),
    ("RE", Explicit()), ("SP", Explicit()),
)
UAPS = {CAT048: CAT048_UAP, CAT034: CAT034_UAP}
SERVICE_COLUMNS = {"t": "float64", "sensor": "string", "message_type": "int64", "azimuth_deg": "float64",
                   "rotation_period_s": "float64"}
NORTH_MARKER, SECTOR_CROSSING = 1, 2  # I034/000 message types


# --- decoding ------------------------------------------------------------------------------------------------

class _Bytes:
    """A byte buffer with safe vectorised reads: positions past the end read as zero."""

    def __init__(self, data: bytes):
        self.raw = bytes(data) + bytes(8)  # for the block walk: indexing bytes is fast, numpy scalars are not
        self.a = np.frombuffer(self.raw, dtype=np.uint8)
        self.size = len(data)

    def u8(self, pos: np.ndarray) -> np.ndarray:
        return self.a[np.clip(pos, 0, self.a.size - 1)].astype(np.int64)

    def uint(self, pos: np.ndarray, nbytes: int) -> np.ndarray:
        out = np.zeros(np.shape(pos), dtype=np.int64)
        for k in range(nbytes):
            out = (out << 8) | self.u8(pos + k)
        return out


def _extended_length(buf: _Bytes, pos: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Length of FX-extended fields at ``pos``, and whether it stayed within MAX_EXTENTS octets."""
    length = np.ones(pos.size, dtype=np.int64)
    more = (buf.u8(pos) & 1) == 1
    for _ in range(MAX_EXTENTS - 1):
        if not more.any():
            break
        length += more
        more &= (buf.u8(pos + length - 1) & 1) == 1
    return length, ~more


def _item_length(buf: _Bytes, kind: object, pos: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Length of one item at each position, and which lengths are well formed."""
    ok = np.ones(pos.size, dtype=bool)
    if isinstance(kind, Fixed):
        return np.full(pos.size, kind.size, dtype=np.int64), ok
    if isinstance(kind, Extended):
        return _extended_length(buf, pos)
    if isinstance(kind, Repeated):
        return 1 + buf.u8(pos) * kind.size, ok
    if isinstance(kind, Explicit):
        length = buf.u8(pos)
        return np.maximum(length, 1), length >= 1
    assert isinstance(kind, Compound)
    primary, ok = _extended_length(buf, pos)
    length = primary.copy()
    slots = len(kind.subfields)
    for byte in range(int(primary.max(initial=1))):
        bits = np.where(byte < primary, buf.u8(pos + byte), 0)
        for bit in range(7):
            flag = ((bits >> (7 - bit)) & 1) == 1
            slot = 7 * byte + bit
            sub = kind.subfields[slot] if slot < slots else 0
            if sub == 0:
                ok &= ~flag  # a spare bit or a subfield this edition does not define
            elif isinstance(sub, Repeated):
                length += np.where(flag, 1 + buf.u8(pos + length) * sub.size, 0)
            else:
                length += np.where(flag, sub, 0)
    return length, ok


def _parse_records(buf: _Bytes, pos: np.ndarray, limit: np.ndarray, uap) -> tuple[dict, np.ndarray, np.ndarray]:
    """Parse one record at each position; returns the start of each item (-1 when absent), the record ends
    and which records are well formed and end within ``limit``."""
    n = pos.size
    fspec_bytes = -(-len(uap) // 7)
    present = np.zeros((n, 7 * fspec_bytes), dtype=bool)
    p = pos.copy()
    more = np.ones(n, dtype=bool)
    for k in range(fspec_bytes):
        byte = np.where(more, buf.u8(p), 0)
        for bit in range(7):
            present[:, 7 * k + bit] = ((byte >> (7 - bit)) & 1) == 1
        p += more
        more &= (byte & 1) == 1
    ok = ~more  # an FSPEC longer than the UAP
    ok &= ~present[:, len(uap):].any(axis=1)
    starts = {}
    for frn, (name, kind) in enumerate(uap):
        has = present[:, frn] & ok
        if not has.any():
            starts[name] = np.full(n, -1, dtype=np.int64)
            continue
        length, good = _item_length(buf, kind, p)
        starts[name] = np.where(has, p, -1)
        ok &= ~has | good
        p = p + np.where(has, length, 0)
    ok &= p <= limit
    return starts, p, ok


@dataclass
class _Records:
    """Item starts of every record of one category, in file order, with its block's index."""
    starts: dict
    offset: np.ndarray
    block: np.ndarray


def _walk_blocks(buf: _Bytes, begin: int, end: int, source: str, stats: DecodeStats,
                 strict: bool) -> list[tuple[int, int, int]]:
    """(start, length, category) of each data block between ``begin`` and ``end``. A block whose length
    does not fit ends the walk (nothing after it can be trusted): it is counted malformed."""
    blocks = []
    a = buf.raw
    p = begin
    while p < end:
        length = (a[p + 1] << 8 | a[p + 2]) if p + 3 <= end else 0
        if length < 3 or p + length > end:
            message = (f"byte {p}: data block header cut off" if p + 3 > end else
                       f"byte {p}: data block length {length} does not fit (only {end - p} bytes left)")
            if strict:
                raise InputError(source, message)
            stats.malformed += 1
            stats.note_error(f"{source}: {message}")
            break
        blocks.append((p, length, a[p]))
        p += length
    return blocks


def _decode_blocks(buf: _Bytes, blocks: list[tuple[int, int, int]], source: str, stats: DecodeStats,
                   strict: bool) -> dict[int, _Records]:
    """Records of every CAT048 and CAT034 block, decoded a record index at a time across blocks."""
    out = {}
    arr = np.array(blocks, dtype=np.int64).reshape(-1, 3)
    for cat, uap in UAPS.items():
        sel = np.flatnonzero(arr[:, 2] == cat)
        pos = arr[sel, 0] + 3
        end = arr[sel, 0] + arr[sel, 1]
        active = pos < end
        parts = []
        while active.any():
            live = np.flatnonzero(active)
            starts, rec_end, ok = _parse_records(buf, pos[live], end[live], uap)
            good = np.flatnonzero(ok)
            parts.append((live[good], pos[live][good], {k: v[good] for k, v in starts.items()}))
            bad = live[~ok]
            if bad.size:
                first = int(pos[bad[0]])
                message = f"byte {first}: CAT{cat:03d} record does not fit its block or uses an undefined item"
                if strict:
                    raise InputError(source, message)
                stats.malformed += bad.size  # the rest of each such block is lost: its records chain
                stats.note_error(f"{source}: {message}")
            pos[live] = rec_end
            active[live] = ok & (rec_end < end[live])
        if parts:
            block = np.concatenate([b for b, _, _ in parts])
            offset = np.concatenate([o for _, o, _ in parts])
            starts = {name: np.concatenate([s[name] for _, _, s in parts]) for name, _ in uap}
            order = np.argsort(offset, kind="stable")
            out[cat] = _Records({k: v[order] for k, v in starts.items()}, offset[order], sel[block[order]])
        stats.records += int(sum(len(o) for _, o, _ in parts))
    other = int((~np.isin(arr[:, 2], list(UAPS))).sum())
    stats.records += other
    stats.unsupported += other  # blocks of other categories, one count per block
    return out


@lru_cache(maxsize=1)
def _code_names() -> np.ndarray:
    sac, sic = np.divmod(np.arange(65536), 256)
    return np.array([f"{a:03d}/{b:03d}" for a, b in zip(sac, sic, strict=True)], dtype=object)


def _sensor_lookup(sensors: list[Sensor] | None):
    """A function from (SAC, SIC) arrays to sensor ids (None where unknown)."""
    if sensors is None:
        table = _code_names()
    else:
        table = np.full(65536, None, dtype=object)
        for s in sensors:
            if s.sac is not None and s.sic is not None:
                table[(int(s.sac) << 8) | int(s.sic)] = s.id
    return lambda sac, sic: table[(sac << 8) | sic]


def _octal_table() -> np.ndarray:
    return np.array([f"{code:04o}" for code in range(4096)], dtype=object)


# I240 uses the ICAO 6-bit alphabet; an all-zero field is how radars send "no identification", so code 0
# reads as a space (as the reference decoder reads it) rather than as an invalid character.
_CHARS = np.full(64, ord("#"), dtype=np.uint8)
_CHARS[0] = ord(" ")
_CHARS[1:27] = np.arange(ord("A"), ord("Z") + 1)
_CHARS[32] = ord(" ")
_CHARS[48:58] = np.arange(ord("0"), ord("9") + 1)


def _plots_from_records(buf: _Bytes, rec: _Records, t: np.ndarray, sensor: np.ndarray) -> pd.DataFrame:
    s = rec.starts
    n = rec.offset.size
    p040 = s["040"]
    rho = buf.uint(p040, 2) * RHO_LSB_NM * NM_M
    theta = buf.uint(p040 + 2, 2) * THETA_LSB_DEG

    p070 = s["070"]
    mode3a = buf.uint(p070, 2)
    squawk = np.full(n, None, dtype=object)
    has = (p070 >= 0) & ((mode3a & 0x8000) == 0)  # V bit: code not validated
    squawk[has] = _octal_table()[mode3a[has] & 0x0FFF]

    p090 = s["090"]
    fl_raw = buf.uint(p090, 2)
    quarter_fl = (fl_raw & 0x3FFF) - ((fl_raw & 0x2000) << 1)  # 14-bit two's complement
    alt = np.where((p090 >= 0) & ((fl_raw & 0x8000) == 0), quarter_fl * FL_LSB * 100.0 * FT_M, np.nan)

    p220 = s["220"]
    icao = np.full(n, None, dtype=object)
    has = np.flatnonzero(p220 >= 0)
    if has.size:
        address, inverse = np.unique(buf.uint(p220[has], 3), return_inverse=True)
        icao[has] = np.array([f"{a:06x}" for a in address], dtype=object)[inverse.ravel()]

    p240 = s["240"]
    callsign = np.full(n, None, dtype=object)
    has = np.flatnonzero(p240 >= 0)
    if has.size:
        bits, inverse = np.unique(buf.uint(p240[has], 6), return_inverse=True)  # few distinct callsigns
        codes = np.stack([(bits >> (42 - 6 * k)) & 0x3F for k in range(8)], axis=1)
        text = _CHARS[codes].view("S8").ravel()
        names = np.array([c.decode("ascii").strip() or None for c in text], dtype=object)
        callsign[has] = names[inverse.ravel()]

    return pd.DataFrame({
        "t": t, "sensor": pd.array(sensor, dtype="string"), "range_m": rho, "azimuth_deg": theta, "alt_m": alt,
        "icao24": pd.array(icao, dtype="string"), "squawk": pd.array(squawk, dtype="string"),
        "callsign": pd.array(callsign, dtype="string"),
    })


@dataclass
class AsterixRecording:
    """What an ASTERIX recording holds: plots (PLOT_COLUMNS, sorted by t), CAT034 service messages
    (SERVICE_COLUMNS: north markers, sector crossings, rotation periods) and the decode counters."""

    plots: pd.DataFrame
    service: pd.DataFrame
    stats: DecodeStats


def decode_asterix(data: bytes, sensors: list[Sensor] | None, *, day_start_s: float | None = None,
                   packet_time_s: np.ndarray | None = None, packet_start: np.ndarray | None = None,
                   packet_end: np.ndarray | None = None, source: str = "asterix",
                   strict: bool = False) -> AsterixRecording:
    """Decode concatenated data blocks (or, with ``packet_start``/``packet_end``, datagrams each holding
    whole blocks). Times of day become epoch seconds on ``day_start_s``'s day, unwrapped across midnight in
    record order, or — without it — the ones nearest each packet's ``packet_time_s``."""
    buf = _Bytes(data)
    stats = DecodeStats()
    if packet_start is None:
        packet_start, packet_end = np.array([0]), np.array([len(data)])
    blocks: list[tuple[int, int, int]] = []
    for begin, end in zip(packet_start.tolist(), packet_end.tolist(), strict=True):
        blocks += _walk_blocks(buf, begin, end, source, stats, strict)
    records = _decode_blocks(buf, blocks, source, stats, strict)
    lookup = _sensor_lookup(sensors)

    def times(rec: _Records, tod_item: str) -> tuple[np.ndarray, np.ndarray]:
        p = rec.starts[tod_item]
        tod = buf.uint(p, 3) * TOD_LSB_S
        return tod, p >= 0

    # one clock for both categories, in file order, so midnight is unwrapped once
    parts = [(cat, *times(rec, "140" if cat == CAT048 else "030")) for cat, rec in records.items()]
    all_offset = np.concatenate([records[c].offset for c, _, _ in parts]) if parts else np.zeros(0, np.int64)
    all_tod = np.concatenate([tod for _, tod, _ in parts]) if parts else np.zeros(0)
    all_has = np.concatenate([h for _, _, h in parts]) if parts else np.zeros(0, bool)
    order = np.argsort(all_offset, kind="stable")
    epoch = np.full(all_offset.size, np.nan)
    usable = order[all_has[order]]
    if day_start_s is not None:
        epoch[usable] = time_of_day_to_epoch_s(all_tod[usable], day_start_s)
    elif packet_time_s is not None and usable.size:
        packet_of = np.searchsorted(packet_start, all_offset[usable], side="right") - 1
        epoch[usable] = time_of_day_near_epoch_s(all_tod[usable], packet_time_s[packet_of])
    else:
        raise InputError(source, "ASTERIX gives only a time of day: sensors.toml needs date = \"YYYY-MM-DD\"")

    plots, service = empty_frame(PLOT_COLUMNS), empty_frame(SERVICE_COLUMNS)
    cursor = 0
    for cat, _, has_tod in parts:
        rec = records[cat]
        t = epoch[cursor:cursor + rec.offset.size]
        cursor += rec.offset.size
        p010 = rec.starts["010"]
        sensor = lookup(buf.u8(p010), buf.u8(p010 + 1))
        complete = has_tod & (p010 >= 0)
        stats.malformed += int((~complete).sum())  # I010 and the time are mandatory
        if (~complete).any():
            stats.note_error(f"{source}: byte {int(rec.offset[~complete][0])}: CAT{cat:03d} record without "
                             f"I010 or its time of day")
        known = complete & (sensor != None)
        stats.unknown_sensor += int((complete & ~known).sum())
        if cat == CAT048:
            is_plot = known & (rec.starts["040"] >= 0)
            stats.unsupported += int((known & ~is_plot).sum())  # track-only or status reports
            keep = np.flatnonzero(is_plot)
            sub = _Records({k: v[keep] for k, v in rec.starts.items()}, rec.offset[keep], rec.block[keep])
            plots = _plots_from_records(buf, sub, t[keep], sensor[keep])
            stats.rows += len(plots)
        else:
            keep = np.flatnonzero(known)
            s = {k: v[keep] for k, v in rec.starts.items()}
            service = pd.DataFrame({
                "t": t[keep], "sensor": pd.array(sensor[keep], dtype="string"),
                "message_type": np.where(s["000"] >= 0, buf.u8(s["000"]), 0),
                "azimuth_deg": np.where(s["020"] >= 0, buf.u8(s["020"]) * SECTOR_LSB_DEG, np.nan),
                "rotation_period_s": np.where(s["041"] >= 0, buf.uint(s["041"], 2) * PERIOD_LSB_S, np.nan),
            })
            stats.unsupported += len(service)  # service messages carry no plot
    if sensors is not None and stats.unknown_sensor and stats.rows == 0:
        raise InputError(source, "no record's SAC/SIC matches a sensor's sac/sic in sensors.toml")
    plots = conform(plots, PLOT_COLUMNS)
    plots = plots.iloc[np.argsort(plots["t"].to_numpy(), kind="stable")].reset_index(drop=True)
    service = conform(service, SERVICE_COLUMNS)
    service = service.iloc[np.argsort(service["t"].to_numpy(), kind="stable")].reset_index(drop=True)
    return AsterixRecording(plots, service, stats)


def read_asterix_recording(path: str | Path, sensors: list[Sensor] | None, *, date: str | None = None,
                           strict: bool = False) -> AsterixRecording:
    """Read ``plots.ast`` (data blocks) or ``plots.pcap``/``.pcapng`` (a UDP capture; told apart by content).

    ``date`` ("YYYY-MM-DD", sensors.toml's) is required for data-block files; a capture without it takes each
    packet's capture date. Duplicate datagrams of redundant radar LANs are read once. With ``sensors=None``
    sensors are named "SAC/SIC" (e.g. "025/201"); otherwise records of unknown SAC/SIC are counted and
    skipped.
    """
    path = Path(path)
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise InputError(path, "file not found") from None
    day_start = _day_start(path, date)
    if data[:4] in (b"\xd4\xc3\xb2\xa1", b"\xa1\xb2\xc3\xd4", b"\x4d\x3c\xb2\xa1", b"\xa1\xb2\x3c\x4d",
                    b"\x0a\x0d\x0d\x0a"):
        packets = read_udp_payloads(data, str(path))
        keep = _first_copies(packets.data, packets.start, packets.end, packets.time_s)
        rec = decode_asterix(packets.data, sensors, day_start_s=day_start, packet_time_s=packets.time_s[keep],
                             packet_start=packets.start[keep], packet_end=packets.end[keep], source=str(path),
                             strict=strict)
        rec.stats.records += packets.skipped
        rec.stats.unsupported += packets.skipped
        return rec
    if day_start is None:
        raise InputError(path, 'ASTERIX gives only a time of day: sensors.toml needs date = "YYYY-MM-DD"')
    return decode_asterix(data, sensors, day_start_s=day_start, source=str(path), strict=strict)


def read_asterix(path: str | Path, sensors: list[Sensor] | None, *, date: str | None = None,
                 strict: bool = False) -> tuple[pd.DataFrame, DecodeStats]:
    """Plots (PLOT_COLUMNS, sorted by t) and counters of an ASTERIX file; see :func:`read_asterix_recording`."""
    rec = read_asterix_recording(path, sensors, date=date, strict=strict)
    return rec.plots, rec.stats


def _day_start(path: Path, date: str | None) -> float | None:
    if date is None:
        return None
    try:
        return day_start_epoch_s(date)
    except ValueError:
        raise InputError(path, f'recording date must be "YYYY-MM-DD", got {date!r}') from None


def _first_copies(data: bytes, start: np.ndarray, end: np.ndarray, time_s: np.ndarray) -> np.ndarray:
    """Indices of datagrams that are not a repeat of an identical one received within DUPLICATE_WINDOW_S."""
    last_seen: dict[bytes, float] = {}
    keep = []
    for k, (a, b, t) in enumerate(zip(start.tolist(), end.tolist(), time_s.tolist(), strict=True)):
        payload = data[a:b]
        seen = last_seen.get(payload)
        if seen is None or not abs(t - seen) <= DUPLICATE_WINDOW_S:
            keep.append(k)
            last_seen[payload] = t
    return np.array(keep, dtype=np.int64)


class AsterixStream:
    """Decode live ASTERIX datagrams (one or more whole data blocks each) as they arrive; times of day are
    placed on the day of the arrival time."""

    def __init__(self, sensors: list[Sensor] | None, source: str = "asterix"):
        self.sensors = sensors
        self.source = source

    def feed(self, datagrams: list[bytes], arrival_s: list[float]) -> tuple[pd.DataFrame, DecodeStats]:
        data = b"".join(datagrams)
        size = np.array([len(d) for d in datagrams], dtype=np.int64)
        end = np.cumsum(size)
        rec = decode_asterix(data, None if self.sensors is None else self.sensors, packet_time_s=np.asarray(
            arrival_s, dtype=float), packet_start=end - size, packet_end=end, source=self.source)
        return rec.plots, rec.stats


# --- encoding ------------------------------------------------------------------------------------------------

def _scan_phase_s(t: np.ndarray, azimuth_deg: np.ndarray, scan_s: float) -> float:
    """When the antenna points north (mod scan_s), from plots' times and azimuths (circular mean)."""
    north = np.mod(t - azimuth_deg / 360.0 * scan_s, scan_s) / scan_s * 2.0 * np.pi
    return float(np.mod(np.arctan2(np.sin(north).mean(), np.cos(north).mean()) / (2.0 * np.pi) * scan_s, scan_s))


def _compact(columns: list[tuple[np.ndarray, np.ndarray]]) -> tuple[np.ndarray, np.ndarray]:
    """Rows of bytes with per-row presence, flattened row by row keeping only present bytes; and row lengths."""
    matrix = np.concatenate([c for c, _ in columns], axis=1)
    mask = np.concatenate([np.broadcast_to(m[:, None], c.shape) for c, m in columns], axis=1)
    return matrix[mask], mask.sum(axis=1)


def _be(values: np.ndarray, nbytes: int) -> np.ndarray:
    values = np.asarray(values, dtype=np.int64)
    return np.stack([(values >> (8 * (nbytes - 1 - k))) & 0xFF for k in range(nbytes)], axis=1).astype(np.uint8)


def _callsign_bytes(callsign: pd.Series) -> np.ndarray:
    text = callsign.astype("string").fillna("").str.upper().str.slice(0, 8).str.ljust(8)
    chars = np.frombuffer("".join(text).encode("ascii", errors="replace"), dtype=np.uint8).reshape(-1, 8)
    valid = ((chars >= ord("A")) & (chars <= ord("Z"))) | ((chars >= ord("0")) & (chars <= ord("9"))) | (
        chars == ord(" "))
    codes = np.where(valid, chars & 0x3F, 32).astype(np.int64)
    bits = np.zeros(len(text), dtype=np.int64)
    for k in range(8):
        bits |= codes[:, k] << (42 - 6 * k)
    return _be(bits, 6)


def encode_cat048_records(plots: pd.DataFrame, sac: np.ndarray, sic: np.ndarray,
                          typ: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """CAT048 records (no block header) for plots, flattened, and each record's length."""
    n = len(plots)
    t = plots["t"].to_numpy(dtype=np.float64)
    rng = plots["range_m"].to_numpy(dtype=np.float64)
    if (~np.isfinite(rng)).any() or (rng < 0).any() or (rng > MAX_RHO_M).any():
        raise ValueError(f"CAT048 I040 carries ranges 0..{MAX_RHO_M:.0f} m")
    tod = np.mod(np.round(np.mod(t, SECONDS_PER_DAY) / TOD_LSB_S), SECONDS_PER_DAY / TOD_LSB_S).astype(np.int64)
    rho = np.round(rng / NM_M / RHO_LSB_NM).astype(np.int64)
    theta = np.mod(np.round(plots["azimuth_deg"].to_numpy(dtype=np.float64) / THETA_LSB_DEG), 65536)

    def optional(name: str) -> pd.Series:
        return plots[name] if name in plots else pd.Series(index=plots.index, dtype=PLOT_COLUMNS[name])

    squawk = optional("squawk").astype("string")
    has_sq = squawk.notna().to_numpy()
    if not squawk[has_sq].str.fullmatch(r"[0-7]{4}").all():
        raise ValueError("squawk must be four octal digits")
    mode3a = np.zeros(n, dtype=np.int64)
    mode3a[has_sq] = [int(s, 8) for s in squawk[has_sq]]
    alt = optional("alt_m").to_numpy(dtype=np.float64, na_value=np.nan)
    has_alt = np.isfinite(alt)
    quarter_fl = np.round(np.nan_to_num(alt) / FT_M / 100.0 / FL_LSB).astype(np.int64) & 0x3FFF
    icao = optional("icao24").astype("string")
    has_icao = icao.notna().to_numpy()
    address = np.zeros(n, dtype=np.int64)
    address[has_icao] = [int(a, 16) for a in icao[has_icao]]
    callsign = optional("callsign").astype("string")
    has_cs = callsign.notna().to_numpy()

    two = has_icao | has_cs  # a second FSPEC octet for FRN 8-9
    fspec1 = (0b11110000 | (has_sq << 3) | (has_alt << 2) | two).astype(np.int64)
    fspec2 = ((has_icao << 7) | (has_cs << 6)).astype(np.int64)
    always = np.ones(n, dtype=bool)
    columns = [
        (_be(fspec1, 1), always), (_be(fspec2, 1), two),
        (np.stack([sac, sic], axis=1).astype(np.uint8), always),  # I010
        (_be(tod, 3), always),  # I140
        (_be(np.asarray(typ, np.int64) << 5, 1), always),  # I020
        (np.concatenate([_be(rho, 2), _be(theta, 2)], axis=1), always),  # I040
        (_be(mode3a, 2), has_sq),  # I070
        (_be(quarter_fl, 2), has_alt),  # I090
        (_be(address, 3), has_icao),  # I220
        (_callsign_bytes(callsign), has_cs),  # I240
    ]
    return _compact(columns)


def encode_cat034_records(t: np.ndarray, sac: np.ndarray, sic: np.ndarray, message_type: np.ndarray,
                          azimuth_deg: np.ndarray, period_s: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """CAT034 north-marker / sector-crossing records: I010, I000, I030, and I020 (sector azimuth) or I041
    (rotation period) when given (NaN: absent)."""
    n = len(t)
    has_az, has_period = np.isfinite(azimuth_deg), np.isfinite(period_s)
    fspec = (0b11100000 | (has_az << 4) | (has_period << 3)).astype(np.int64)
    tod = np.mod(np.round(np.mod(t, SECONDS_PER_DAY) / TOD_LSB_S), SECONDS_PER_DAY / TOD_LSB_S).astype(np.int64)
    always = np.ones(n, dtype=bool)
    columns = [
        (_be(fspec, 1), always), (np.stack([sac, sic], axis=1).astype(np.uint8), always),
        (_be(message_type, 1), always), (_be(tod, 3), always),
        (_be(np.mod(np.round(np.nan_to_num(azimuth_deg) / SECTOR_LSB_DEG), 256), 1), has_az),
        (_be(np.round(np.nan_to_num(period_s) / PERIOD_LSB_S), 2), has_period),
    ]
    return _compact(columns)


def _blocks(cat: int, record_bytes: np.ndarray, record_len: np.ndarray, block_of: np.ndarray) -> list[bytes]:
    """Wrap records (already in block order; ``block_of`` non-decreasing) into data blocks."""
    starts = np.concatenate([[0], np.cumsum(record_len)])
    first = np.flatnonzero(np.concatenate([[True], block_of[1:] != block_of[:-1]]))
    last = np.concatenate([first[1:], [block_of.size]])
    out = []
    for a, b in zip(first.tolist(), last.tolist(), strict=True):
        body = record_bytes[starts[a]:starts[b]].tobytes()
        out.append(bytes([cat, (len(body) + 3) >> 8, (len(body) + 3) & 0xFF]) + body)
    return out


def encode_cat048(plots: pd.DataFrame, sensors: list[Sensor]) -> list[tuple[float, bytes]]:
    """Data blocks (time sent, bytes) of CAT048 plots and CAT034 service messages, in time order."""
    by_id = {s.id: s for s in sensors}
    plots = plots.reset_index(drop=True)
    names = plots["sensor"].astype("string")
    missing = sorted(set(names.dropna()) - {s.id for s in sensors if s.sac is not None and s.sic is not None})
    if missing or names.isna().any():
        raise ValueError(f"sensors without sac/sic in sensors.toml cannot be written to ASTERIX: {missing}")
    out: list[tuple[float, bytes]] = []
    for sensor_id, group in plots.groupby(names, sort=True):
        s = by_id[sensor_id]
        g = group.iloc[np.argsort(group["t"].to_numpy(), kind="stable")]
        t = g["t"].to_numpy(dtype=np.float64)
        n = len(g)
        has_icao = g["icao24"].notna().to_numpy() if "icao24" in g else np.zeros(n, bool)
        typ = np.full(n, TYP_PSR if s.kind == "psr" else TYP_SSR)
        typ[has_icao & (s.kind != "psr")] = TYP_MODE_S_ROLL_CALL
        record_bytes, record_len = encode_cat048_records(g, np.full(n, s.sac), np.full(n, s.sic), typ)
        if s.scan_s:
            phase = _scan_phase_s(t, g["azimuth_deg"].to_numpy(dtype=np.float64), s.scan_s)
            sector_s = s.scan_s / SECTORS_PER_SCAN
            window = np.floor((t - phase) / sector_s).astype(np.int64)
        else:
            window = np.floor(t / DEFAULT_BLOCK_S).astype(np.int64)
        rank = np.arange(n) - np.searchsorted(window, window, side="left")
        block_of = np.cumsum(np.concatenate([[0], (window[1:] != window[:-1]) | (rank[1:] % MAX_RECORDS_PER_BLOCK
                                                                                 == 0)]))
        last_t = pd.Series(t).groupby(block_of).max().to_numpy()
        out += list(zip(last_t.tolist(), _blocks(CAT048, record_bytes, record_len, block_of), strict=True))
        if s.scan_s and n:
            k = np.arange(np.floor((t[0] - phase) / sector_s), np.ceil((t[-1] - phase) / sector_s) + 1)
            when = phase + k * sector_s
            sector = np.mod(k, SECTORS_PER_SCAN)
            north = sector == 0
            m = when.size
            rec, length = encode_cat034_records(
                when, np.full(m, s.sac), np.full(m, s.sic), np.where(north, NORTH_MARKER, SECTOR_CROSSING),
                np.where(north, np.nan, sector * 360.0 / SECTORS_PER_SCAN), np.where(north, s.scan_s, np.nan))
            out += list(zip(when.tolist(), _blocks(CAT034, rec, length, np.arange(m)), strict=True))
    order = sorted(range(len(out)), key=lambda i: out[i][0])
    return [out[i] for i in order]


def write_cat048(plots: pd.DataFrame, sensors: list[Sensor], path: str | Path) -> None:
    """Write plots (PLOT_COLUMNS) as ``plots.ast``: CAT048 data blocks per sensor and sector, interleaved in
    time with CAT034 north-marker and sector-crossing messages for radars with a ``scan_s``. Every plot's
    sensor needs ``sac`` and ``sic`` in sensors.toml. Times are written as times of day: the reader needs the
    date (sensors.toml ``date``) of the first plot. Raises ValueError on what CAT048 cannot carry."""
    blocks = encode_cat048(plots, sensors)
    Path(path).write_bytes(b"".join(b for _, b in blocks))
