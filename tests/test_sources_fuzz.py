"""Every binary reader on random, truncated and corrupted input: a clear InputError or counted skips, never a
crash, and the counters always add up."""
from __future__ import annotations

import numpy as np
import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_sources_modes import flight

from centinela.errors import InputError
from centinela.model import ADSB_COLUMNS, PLOT_COLUMNS, Sensor
from centinela.sources.asterix import decode_asterix, encode_cat048
from centinela.sources.beast import BeastStream, split_beast
from centinela.sources.modes import LONG_BYTES, decode_modes
from centinela.sources.modes_encode import encode_adsb, write_beast
from centinela.sources.modes_hex import parse_hex_lines
from centinela.sources.pcap import read_udp_payloads

FUZZ = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
TRUTH = flight("e8044e", 60)
FRAMES, NBYTES = encode_adsb(TRUTH)
SENSORS = [Sensor("SSR-1", "ssr", -12.5, -73.9, 2500.0, scan_s=4.0, sac=25, sic=201)]
PLOTS = pd.DataFrame({"t": 1780310700.0 + np.arange(40) * 0.1, "sensor": "SSR-1", "range_m": 40e3,
                      "azimuth_deg": np.arange(40) * 9.0, "alt_m": 3000.0, "icao24": "e8044e", "squawk": "1234",
                      "callsign": "CNL42"})
AST = b"".join(b for _, b in encode_cat048(PLOTS, SENSORS))


def beast_recording() -> bytes:
    import tempfile
    from pathlib import Path

    path = Path(tempfile.mkdtemp()) / "a.beast"
    write_beast(TRUTH, path, t0_s=0.0)
    return path.read_bytes()


BEAST = beast_recording()


def mutate(data: bytes, edits: list[tuple[int, int]], cut: int) -> bytes:
    out = bytearray(data)
    for pos, value in edits:
        out[pos % len(out)] = value
    return bytes(out[: max(cut % (len(out) + 1), 1)])


@FUZZ
@given(st.binary(max_size=600))
def test_beast_framing_never_crashes_on_random_bytes(data):
    cut = split_beast(data)
    assert cut.frames.shape == (cut.ticks.size, LONG_BYTES) and 0 <= cut.end <= len(data)
    rows, _ = BeastStream().feed(data, 0.0)
    assert list(rows.columns) == list(ADSB_COLUMNS)


@FUZZ
@given(st.lists(st.tuples(st.integers(0, 10_000), st.integers(0, 255)), max_size=8), st.integers(0, 10_000))
def test_corrupted_beast_recordings_are_counted(edits, cut):
    data = mutate(BEAST, edits, cut)
    frames = split_beast(data)
    t = frames.ticks / 12e6
    rows, stats = decode_modes(t, frames.frames, frames.nbytes)
    stats = stats + frames.stats
    assert stats.rows == len(rows) <= len(TRUTH)
    assert stats.rows + stats.skipped + stats.implausible <= stats.records + 1  # +1: leading bytes


@FUZZ
@given(st.lists(st.binary(min_size=14, max_size=14), max_size=40), st.lists(st.sampled_from([7, 14]), max_size=40))
def test_random_frames_decode_without_crashing(raw, lengths):
    n = min(len(raw), len(lengths))
    frames = np.frombuffer(b"".join(raw[:n]), np.uint8).reshape(-1, LONG_BYTES) if n else np.zeros((0, 14), np.uint8)
    rows, stats = decode_modes(np.arange(n, dtype=float), frames, np.array(lengths[:n], dtype=np.int64))
    assert stats.records == n and stats.rows == len(rows)
    assert stats.rows + stats.skipped + stats.implausible == n


@FUZZ
@given(st.lists(st.text(max_size=60), max_size=20))
def test_hex_lines_never_crash(lines):
    t, frames, nbytes, stats = parse_hex_lines(lines)
    assert len(t) == len(frames) == len(nbytes) and stats.malformed <= len(lines)


@FUZZ
@given(st.lists(st.tuples(st.integers(0, 10_000), st.integers(0, 255)), max_size=6), st.integers(0, 10_000))
def test_corrupted_asterix_is_counted_or_reported(edits, cut):
    data = mutate(AST, edits, cut)
    try:
        rec = decode_asterix(data, SENSORS, day_start_s=0.0)
    except InputError as e:
        assert "SAC/SIC" in str(e)  # every record now names an unknown radar
        return
    assert list(rec.plots.columns) == list(PLOT_COLUMNS) and len(rec.plots) <= len(PLOTS)
    assert rec.stats.rows == len(rec.plots)


@FUZZ
@given(st.binary(max_size=400))
def test_random_bytes_as_asterix_or_pcap(data):
    try:
        decode_asterix(data, None, day_start_s=0.0)
    except InputError:
        pass
    try:
        read_udp_payloads(data)
    except InputError as e:
        assert "capture" in str(e) or "byte" in str(e)
