"""The vectorised Mode S decoder against pyModeS, message by message, on real and encoded frames."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from test_sources_samples import pymodes_readme_messages

from centinela.sources.modes import (
    FT_M,
    KT_MPS,
    ModeSDecoder,
    cpr_nl,
    crc_syndrome,
    decode_modes,
    frames_from_hex,
    frames_to_hex,
)
from centinela.sources.modes_encode import encode_adsb

pms = pytest.importorskip("pyModeS", reason="pyModeS is not installed")
import pyModeS.util as pmu


def flight(icao: str, n: int, t0: float = 1780310700.0, lat0: float = -12.5, lon0: float = -73.9) -> pd.DataFrame:
    """Messages of one aircraft flying north-east at 70 m/s: positions, velocities and identity in turn."""
    t = t0 + np.arange(n) * 0.5
    kinds = np.tile([3, 3, 4, 1, 5, 6], -(-n // 6))[:n]
    north = np.arange(n) * 0.5 * 70.0 / 111_000.0
    return pd.DataFrame({
        "t": t, "icao24": icao, "msg_type": kinds, "callsign": "CNL42", "alt_m": 3000.0 + np.arange(n),
        "lat": lat0 + north, "lon": lon0 + north, "gs_mps": 70.0, "track_deg": 45.0, "vr_mps": 2.0,
        "squawk": "4321", "on_ground": False,
    })


def test_crc_matches_pymodes_on_real_messages():
    messages = pymodes_readme_messages()
    frames, nbytes = frames_from_hex(messages)
    assert crc_syndrome(frames, nbytes).tolist() == [pmu.crc(m) for m in messages]


def test_real_messages_decode_as_pymodes_decodes_them():
    messages = pymodes_readme_messages()
    frames, nbytes = frames_from_hex(messages)
    t = np.arange(len(messages), dtype=float)
    rows, stats = decode_modes(t, frames, nbytes, reference=(43.6, 1.37))  # receiver near the surface message
    assert stats.records == len(messages)
    expected = pms.decode(messages, timestamps=t.tolist(), surface_ref=(43.6, 1.37))
    checked = 0
    for row in rows.itertuples():
        d = expected[int(np.flatnonzero(t == row.t)[0])]
        assert row.icao24 == d["icao"].lower()
        if row.msg_type == 1:
            assert row.callsign == d["callsign"]
        if row.msg_type == 3:
            assert row.alt_m == pytest.approx(d["altitude"] * FT_M)
        if row.msg_type == 4:
            assert row.gs_mps == pytest.approx(d["groundspeed"] * KT_MPS, abs=0.3)
            assert row.track_deg == pytest.approx(d["track"])
            assert row.vr_mps == pytest.approx(d["vertical_rate"] * FT_M / 60.0)
        if row.msg_type == 2:
            assert row.gs_mps == pytest.approx(d["groundspeed"] * KT_MPS) and bool(row.on_ground)
        if not np.isnan(row.lat):
            assert (row.lat, row.lon) == pytest.approx((d["latitude"], d["longitude"]), abs=1e-9)
            checked += 1
        checked += 1
    # identity, velocity, both positions of the pair (the newer one resolved), the surface position
    assert list(rows.msg_type) == [1, 4, 3, 3, 2]
    assert rows.lat.notna().tolist() == [False, False, False, True, True]
    # the DF20/DF21 replies come from addresses no checked frame showed: counted, not guessed
    assert stats.unknown_address == 2 and checked >= 7


def test_cpr_zone_count_matches_pymodes():
    lat = np.concatenate([np.linspace(-90, 90, 3601), [10.47047129996848, 87.0, -87.0, 0.0]])
    assert cpr_nl(lat).tolist() == [pmu.cprNL(float(x)) for x in lat]


def test_encoded_frames_decode_in_pymodes_to_what_was_encoded():
    rng = np.random.default_rng(7)
    n = 300
    rows = pd.DataFrame({
        "t": np.arange(n) * 0.3, "icao24": [f"{x:06x}" for x in rng.integers(0, 2**24, n)],
        "msg_type": rng.choice([1, 3, 4, 5, 6, 8], n), "callsign": [f"AB{i:03d}X" for i in range(n)],
        "alt_m": rng.uniform(-200, 15000, n), "lat": rng.uniform(-85, 85, n), "lon": rng.uniform(-180, 180, n),
        "gs_mps": rng.uniform(20, 300, n), "track_deg": rng.uniform(0, 360, n), "vr_mps": rng.uniform(-20, 20, n),
        "squawk": [f"{x:04o}" for x in rng.integers(0, 4096, n)], "on_ground": rng.random(n) < 0.2,
    })
    frames, nbytes = encode_adsb(rows)
    for hexmsg, r in zip(frames_to_hex(frames, nbytes), rows.itertuples(), strict=True):
        d = pms.decode(hexmsg)
        assert d["icao"].lower() == r.icao24
        if r.msg_type in (1, 3, 4, 8):
            assert pmu.crc(hexmsg) == 0
        if r.msg_type == 1:
            assert d["callsign"] == r.callsign
        elif r.msg_type in (3, 5):
            assert d["altitude"] * FT_M == pytest.approx(r.alt_m, abs=25 * FT_M / 2 + 1e-6)
        elif r.msg_type == 4:
            assert d["groundspeed"] * KT_MPS == pytest.approx(r.gs_mps, abs=1.5 * KT_MPS)  # both components and pyModeS round
            assert (d["track"] - r.track_deg + 180) % 360 - 180 == pytest.approx(0, abs=1.5)
        elif r.msg_type == 6:
            assert d["squawk"] == r.squawk
        if r.msg_type == 3:
            p = pms.decode(hexmsg, reference=(r.lat, r.lon))
            assert p["latitude"] == pytest.approx(r.lat, abs=1e-3)
            assert (p["longitude"] - r.lon + 180) % 360 - 180 == pytest.approx(0, abs=1e-3)


def test_a_flight_decodes_to_its_own_values_and_to_pymodes_positions():
    truth = pd.concat([flight("e8044e", 240), flight("e80450", 240, lat0=-11.9, lon0=-74.3)])
    truth = truth.sort_values("t", kind="stable").reset_index(drop=True)
    frames, nbytes = encode_adsb(truth)
    rows, stats = decode_modes(truth["t"].to_numpy(), frames, nbytes)
    assert stats.rows == len(truth) and stats.crc_failed == stats.unknown_address == stats.implausible == 0
    assert stats.unresolved_positions == 2  # the first position frame of each aircraft has no partner yet
    pd.testing.assert_series_equal(rows["msg_type"], truth["msg_type"].astype("int64"), check_names=False)
    pos = rows["msg_type"].eq(3).to_numpy() & rows["lat"].notna().to_numpy()
    assert np.abs(rows["lat"][pos] - truth["lat"][pos]).max() < 1e-4  # CPR resolution is ~5 m
    assert np.abs(rows["lon"][pos] - truth["lon"][pos]).max() < 1e-4
    assert set(rows["squawk"].dropna()) == {"4321"} and set(rows["callsign"].dropna()) == {"CNL42"}
    assert rows["gs_mps"].dropna().sub(70.0).abs().max() < 1.0
    assert not rows["on_ground"].dropna().any()
    # pyModeS's stateful decoder resolves the same frames to the same places, to within what the aircraft
    # flies between two frames (pyModeS gives some frames the position of their pair's newer frame)
    ref = pms.decode(list(frames_to_hex(frames, nbytes)), timestamps=truth["t"].tolist())
    both = [(i, r) for i, r in enumerate(ref) if r.get("latitude") is not None and pos[i]]
    assert len(both) > 100
    exact = 0
    for i, r in both:
        ours = np.hypot(rows["lat"][i] - truth["lat"][i], rows["lon"][i] - truth["lon"][i])
        theirs = np.hypot(r["latitude"] - truth["lat"][i], r["longitude"] - truth["lon"][i])
        assert ours <= theirs + 1e-9 and theirs < 5e-4
        exact += bool(abs(rows["lat"][i] - r["latitude"]) < 1e-9 and abs(rows["lon"][i] - r["longitude"]) < 1e-9)
    assert exact > len(both) / 2


def test_bad_parity_and_implausible_frames_are_dropped_and_counted():
    truth = flight("e8044e", 120)
    frames, nbytes = encode_adsb(truth)
    frames[2, 6] ^= 0x04  # one bit error in a checked (DF17 velocity) frame
    jump = truth.copy()
    jump.loc[[60, 61], ["lat", "lon"]] = [[-5.0, -70.0], [-5.0, -70.0]]  # a pair decoding 900 km away
    jump.loc[62, "gs_mps"] = 900.0  # faster than any aircraft we track
    jframes, _ = encode_adsb(jump)
    frames[[60, 61]] = jframes[[60, 61]]
    frames[62] = jframes[62]
    rows, stats = decode_modes(truth["t"].to_numpy(), frames, nbytes)
    assert stats.crc_failed == 1
    assert stats.implausible >= 2
    assert not ((rows["lat"] - (-5.0)).abs() < 0.5).any()
    assert rows["gs_mps"].max() < 600.0
    assert stats.rows + stats.crc_failed + stats.implausible == stats.records


def test_address_parity_replies_need_a_checked_address():
    replies = pd.DataFrame({"t": [0.0, 1.0, 2.0, 400.0], "icao24": "abc123", "msg_type": [8, 5, 6, 5],
                            "alt_m": [np.nan, 1524.0, np.nan, 1524.0], "squawk": [None, None, "7500", None]})
    frames, nbytes = encode_adsb(replies)
    alone, stats = decode_modes(replies["t"].to_numpy()[1:], frames[1:], nbytes[1:])
    assert len(alone) == 0 and stats.unknown_address == 3
    rows, stats = decode_modes(replies["t"].to_numpy(), frames, nbytes)  # the DF11 vouches for the address
    assert rows["msg_type"].tolist() == [8, 5, 6] and stats.unknown_address == 1  # ... for 300 s
    assert rows["alt_m"][1] == pytest.approx(1524.0, abs=4) and rows["squawk"][2] == "7500"
    decoder = ModeSDecoder()  # and across batches
    decoder.decode(replies["t"].to_numpy()[:1], frames[:1], nbytes[:1])
    later, stats = decoder.decode(replies["t"].to_numpy()[1:3], frames[1:3], nbytes[1:3])
    assert later["msg_type"].tolist() == [5, 6] and stats.unknown_address == 0


def test_batches_decode_like_the_whole_recording():
    truth = flight("e8044e", 300)
    frames, nbytes = encode_adsb(truth)
    t = truth["t"].to_numpy()
    whole, _ = decode_modes(t, frames, nbytes)
    decoder = ModeSDecoder()
    parts = [decoder.decode(t[a:b], frames[a:b], nbytes[a:b])[0] for a, b in ((0, 7), (7, 150), (150, 300))]
    pd.testing.assert_frame_equal(pd.concat(parts, ignore_index=True), whole)
