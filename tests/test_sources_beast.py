"""Beast binary and raw hex ADS-B files: framing, escapes, clocks, and bad input counted or reported."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from test_sources_modes import flight
from test_sources_samples import pymodes_readme_messages

from centinela.errors import InputError
from centinela.sources.beast import BeastStream, read_beast, split_beast
from centinela.sources.modes import decode_modes, frames_from_hex
from centinela.sources.modes_encode import beast_bytes, write_beast, write_hex
from centinela.sources.modes_hex import read_hex

T0 = 1780310700.0


def test_real_messages_in_a_beast_recording_decode_as_the_hex_does(tmp_path):
    messages = pymodes_readme_messages()
    frames, nbytes = frames_from_hex(messages)
    t = np.arange(len(messages)) * 0.25
    # time stamps and signal bytes full of 0x1A, so escapes are exercised everywhere
    ticks = (t * 12e6).astype(np.int64) | 0x1A1A1A000000
    data = beast_bytes(ticks, frames, nbytes, signal=np.full(len(messages), 0x1A, np.uint8))
    assert data.count(b"\x1a\x1a") >= 3 * len(messages)
    path = tmp_path / "adsb.beast"
    path.write_bytes(b"\x1a1" + bytes(9) + data)  # led by a Mode A/C frame, which is counted and skipped
    rows, stats = read_beast(path, t0_s=T0)
    expected, _ = decode_modes(T0 + t, frames, nbytes)
    pd.testing.assert_frame_equal(rows, expected.assign(t=rows["t"]))
    np.testing.assert_allclose(rows["t"] - T0, t[np.isin(T0 + t, expected["t"])], atol=1e-6)
    assert stats.unsupported == 1 and stats.malformed == 0


def test_write_read_round_trip_and_streaming_in_random_chunks(tmp_path):
    truth = flight("e8044e", 180)
    path = tmp_path / "adsb.beast"
    write_beast(truth, path, t0_s=T0)
    rows, stats = read_beast(path, t0_s=T0)
    assert stats.rows == len(truth) and stats.skipped == 0
    np.testing.assert_allclose(rows["t"], truth["t"], atol=1e-6)

    data = path.read_bytes()
    rng = np.random.default_rng(5)
    stream = BeastStream()
    cuts = np.sort(rng.choice(np.arange(1, len(data)), 40, replace=False))
    parts = [stream.feed(c.tobytes(), T0) for c in np.split(np.frombuffer(data, np.uint8), cuts)]
    streamed = pd.concat([p for p, _ in parts], ignore_index=True)
    assert sum(s.malformed for _, s in parts) == 0
    pd.testing.assert_frame_equal(streamed, rows)


def test_bad_beast_input_is_counted_or_reported_with_its_byte_offset(tmp_path):
    truth = flight("e8044e", 30)
    good = tmp_path / "good.beast"
    write_beast(truth, good, t0_s=T0)
    data = good.read_bytes()
    cut = split_beast(data)
    broken = bytearray(data)
    k = int(cut.offset[5])
    del broken[k + 12:k + 16]  # a frame four bytes short
    path = tmp_path / "broken.beast"
    path.write_bytes(bytes(broken) + data[:20])  # and a truncated frame at the end
    rows, stats = read_beast(path, t0_s=T0)
    assert stats.malformed == 2 and len(rows) == len(truth) - 1
    assert f"byte {k}" in stats.first_error
    with pytest.raises(InputError, match=f"byte {k}"):
        read_beast(path, t0_s=T0, strict=True)
    zero = tmp_path / "zero.beast"
    zero.write_bytes(beast_bytes(np.zeros(len(cut.nbytes), np.int64), cut.frames, cut.nbytes))
    with pytest.raises(InputError, match="time stamp"):
        read_beast(zero, t0_s=T0)
    noise = tmp_path / "noise.beast"
    noise.write_bytes(b"this is not beast")
    with pytest.raises(InputError, match="no Beast frame"):
        read_beast(noise, t0_s=T0)


def test_counter_restart_keeps_time_moving_forward(tmp_path):
    frames, nbytes = frames_from_hex(pymodes_readme_messages()[:2])
    data = beast_bytes(np.array([24_000_000, 1_200]), frames, nbytes)  # the receiver restarted in between
    path = tmp_path / "restart.beast"
    path.write_bytes(data)
    rows, _ = read_beast(path, t0_s=T0)
    assert rows["t"].tolist() == [T0, T0]


def test_hex_round_trip_and_malformed_lines(tmp_path):
    truth = flight("e8044e", 60)
    path = tmp_path / "adsb.hex"
    write_hex(truth, path)
    rows, stats = read_hex(path)
    np.testing.assert_allclose(rows["t"], truth["t"], atol=1e-6)
    assert stats.rows == len(truth)
    text = path.read_text().splitlines()
    text[3] = "1780310701.5 8D40ZZ"  # not hex
    text[7] = "not a time 8D406B902015A678D4D220AA4BDA"
    text.insert(10, "1780310702.0 *8D406B902015A678D4D220AA4BDA;")  # dump1090 raw form: accepted
    path.write_text("\n".join(text) + "\n")
    rows, stats = read_hex(path)
    assert stats.malformed == 2 and "adsb.hex:4:" in stats.first_error
    assert "EZY85MH" in set(rows["callsign"].dropna())
    with pytest.raises(InputError, match="adsb.hex:4"):
        read_hex(path, strict=True)
    binary = tmp_path / "binary.hex"
    binary.write_bytes(bytes(range(256)))
    with pytest.raises(InputError):
        read_hex(binary)
