"""ASTERIX CAT048/CAT034: our decoder against the reference decoder (asterix-decoder) on its real sample
recordings, our writer through the reference decoder, and hand-built bytes against the EUROCONTROL spec."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from test_sources_samples import asterix_module, asterix_sample

from centinela.errors import InputError
from centinela.model import Sensor
from centinela.sources.asterix import encode_cat048, read_asterix, read_asterix_recording, write_cat048
from centinela.sources.clock import day_start_epoch_s
from centinela.sources.pcap import pcap_bytes, read_udp_payloads

NM_M = 1852.0
FT_M = 0.3048
# The record in asterix-decoder's own docstring (and its sample cat048.raw): one CAT048 data block.
SPEC_BLOCK = bytes.fromhex("300030fdf70219c9356d4da0c5aff1e0020005283c660c10c236d4182001c0780031bc0000400deb07b958"
                           "2e410020f5")


def radar(sensor_id: str, sic: int, kind: str = "ssr", scan_s: float | None = 4.0) -> Sensor:
    return Sensor(sensor_id, kind, -12.5, -73.9, 2500.0, scan_s=scan_s, range_max_m=400e3, sac=25, sic=sic)


def texts(values) -> list:
    """Strings with every kind of missing value as None, to compare columns of different dtypes."""
    return [None if pd.isna(x) else str(x) for x in values]


def reference_records(data_blocks: list[bytes]) -> list[dict]:
    asterix = asterix_module()
    return [r for block in data_blocks for r in asterix.parse(block, verbose=False)]


def test_hand_built_record_decodes_as_the_spec_says():
    """FSPEC fd f7 02: I010 I140 I020 I040 I070 I090 I130, I220 I240 I250 I161 I200 I170, I230."""
    path_sensors = [radar("LJU", 201)]
    rec = _decode_bytes(SPEC_BLOCK, path_sensors, "2016-05-05")
    p = rec.plots.iloc[0]
    day = day_start_epoch_s("2016-05-05")
    assert p.sensor == "LJU"
    assert p.t - day == 0x356D4D / 128.0  # I140: 24 bits, 1/128 s
    assert p.range_m == pytest.approx(0xC5AF / 256.0 * NM_M)  # I040 RHO, 1/256 NM
    assert p.azimuth_deg == pytest.approx(0xF1E0 * 360.0 / 65536.0)  # I040 THETA
    assert p.squawk == "1000"  # I070 0x0200: octal 1000
    assert p.alt_m == pytest.approx(0x0528 / 4.0 * 100.0 * FT_M)  # I090: 1/4 FL
    assert p.icao24 == "3c660c" and p.callsign == "DLH65A"


def _decode_bytes(data: bytes, sensors, date: str):
    import tempfile
    from pathlib import Path

    path = Path(tempfile.mkdtemp()) / "plots.ast"
    path.write_bytes(data)
    return read_asterix_recording(path, sensors, date=date)


def test_reference_sample_recordings_decode_to_the_reference_values():
    capture = asterix_sample("cat_034_048.pcap")
    ours = read_asterix_recording(capture, None)
    packets = read_udp_payloads(capture.read_bytes())
    # the capture holds each datagram twice (two redundant radar LANs): we read it once
    unique = list(dict.fromkeys(packets.payload(k) for k in range(len(packets))))
    assert len(packets) == 100 and len(unique) == 50
    ref = reference_records(unique)
    ref_plots = [r for r in ref if r["category"] == 48 and "I040" in r]
    ref_service = [r for r in ref if r["category"] == 34]
    assert len(ours.plots) == len(ref_plots) == 63 and len(ours.service) == len(ref_service)
    expected = pd.DataFrame({
        "tod": [r["I140"]["ToD"]["val"] for r in ref_plots],
        "sensor": [f"{r['I010']['SAC']['val']:03d}/{r['I010']['SIC']['val']:03d}" for r in ref_plots],
        "range_m": [r["I040"]["RHO"]["val"] * NM_M for r in ref_plots],
        "azimuth_deg": [r["I040"]["THETA"]["val"] for r in ref_plots],
        "squawk": [r["I070"]["Mode3A"]["val"] if "I070" in r and r["I070"]["V"]["val"] == 0 else None
                   for r in ref_plots],
        "alt_m": [r["I090"]["FL"]["val"] * 100 * FT_M if "I090" in r and r["I090"]["V"]["val"] == 0 else np.nan
                  for r in ref_plots],
        "icao24": [r["I220"]["ACAddr"]["val"].lower() if "I220" in r else None for r in ref_plots],
        "callsign": [(r["I240"]["TId"]["val"].strip() or None) if "I240" in r else None for r in ref_plots],
    }).sort_values(["tod", "sensor", "azimuth_deg"], kind="stable").reset_index(drop=True)
    got = ours.plots.assign(tod=np.mod(ours.plots["t"], 86400.0)).sort_values(
        ["tod", "sensor", "azimuth_deg"], kind="stable").reset_index(drop=True)
    np.testing.assert_allclose(got["tod"], expected["tod"], atol=1e-6)
    np.testing.assert_allclose(got["range_m"], expected["range_m"], rtol=1e-12)
    np.testing.assert_allclose(got["azimuth_deg"], expected["azimuth_deg"], atol=1e-9)
    np.testing.assert_allclose(got["alt_m"], expected["alt_m"], atol=1e-6)
    for name in ("sensor", "squawk", "icao24", "callsign"):
        assert texts(got[name]) == texts(expected[name]), name
    # times: the capture's own date, near the capture time stamps
    assert np.all(np.abs(ours.plots["t"] - packets.time_s.mean()) < 60.0)
    # CAT034: sector crossings every 11.25 deg, as the reference reads them
    ref_az = sorted(r["I020"]["Azi"]["val"] for r in ref_service if "I020" in r)
    assert sorted(ours.service["azimuth_deg"].dropna()) == pytest.approx(ref_az)
    assert ours.stats.malformed == 0 and ours.stats.rows == 63


def test_reference_raw_samples_decode():
    plots, stats = read_asterix(asterix_sample("cat048.raw"), [radar("LJU", 201)], date="2016-05-05")
    assert plots["sensor"].tolist() == ["LJU"] and plots["callsign"][0] == "DLH65A" and stats.rows == 1
    rec = read_asterix_recording(asterix_sample("cat034.raw"), None, date="2016-05-05")
    assert len(rec.plots) == 0 and rec.service["message_type"].tolist() == [2]
    assert rec.service["azimuth_deg"][0] == pytest.approx(90.0)


def synthetic_plots(n: int = 400, t0: float = 1780358390.0) -> tuple[pd.DataFrame, list[Sensor]]:
    """Plots of a PSR and an SSR, around the clock of a rotating antenna (4 s and 10 s scans)."""
    rng = np.random.default_rng(3)
    sensors = [radar("SSR-1", 201, "ssr", 4.0), radar("PSR-1", 7, "psr", 10.0)]
    t = t0 + np.sort(rng.uniform(0, 120, n))
    is_ssr = rng.random(n) < 0.5
    scan = np.where(is_ssr, 4.0, 10.0)
    plots = pd.DataFrame({
        "t": t, "sensor": np.where(is_ssr, "SSR-1", "PSR-1"), "range_m": rng.uniform(1000, 400e3, n),
        "azimuth_deg": np.mod((t - t0) / scan * 360.0 + rng.normal(0, 0.1, n), 360.0),
        "alt_m": np.where(is_ssr, rng.uniform(-300, 12000, n), np.nan),
        "icao24": np.where(is_ssr & (rng.random(n) < 0.5), [f"{x:06x}" for x in rng.integers(0, 2**24, n)], None),
        "squawk": np.where(is_ssr, [f"{x:04o}" for x in rng.integers(0, 4096, n)], None),
        "callsign": np.where(is_ssr & (rng.random(n) < 0.3), "FAP357", None),
    })
    return plots, sensors


def test_our_writer_through_the_reference_decoder_gives_the_same_plots():
    plots, sensors = synthetic_plots()
    blocks = [b for _, b in encode_cat048(plots, sensors)]
    ref = reference_records(blocks)
    cat048 = [r for r in ref if r["category"] == 48]
    assert len(cat048) == len(plots)
    got = pd.DataFrame({
        "tod": [r["I140"]["ToD"]["val"] for r in cat048],
        "sic": [r["I010"]["SIC"]["val"] for r in cat048],
        "range_m": [r["I040"]["RHO"]["val"] * NM_M for r in cat048],
        "azimuth_deg": [r["I040"]["THETA"]["val"] for r in cat048],
        "alt_m": [r["I090"]["FL"]["val"] * 100 * FT_M if "I090" in r else np.nan for r in cat048],
        "squawk": [r["I070"]["Mode3A"]["val"] if "I070" in r else None for r in cat048],
        "icao24": [r["I220"]["ACAddr"]["val"].lower() if "I220" in r else None for r in cat048],
        "callsign": [r["I240"]["TId"]["val"].strip() if "I240" in r else None for r in cat048],
        "typ": [r["I020"]["TYP"]["val"] for r in cat048],
    }).sort_values(["tod", "sic", "range_m"], kind="stable").reset_index(drop=True)
    want = plots.assign(tod=np.mod(plots["t"], 86400.0), sic=np.where(plots["sensor"] == "SSR-1", 201, 7))
    want = want.iloc[np.lexsort((want["range_m"], want["sic"], np.round(want["tod"] * 128)))].reset_index(drop=True)
    np.testing.assert_allclose(got["tod"], want["tod"], atol=0.5 / 128)
    assert (got["sic"] == want["sic"]).all()
    np.testing.assert_allclose(got["range_m"], want["range_m"], atol=0.5 / 256 * NM_M)
    assert np.allclose(np.mod(got["azimuth_deg"] - want["azimuth_deg"] + 180, 360) - 180, 0, atol=360 / 2**17)
    np.testing.assert_allclose(got["alt_m"], want["alt_m"], atol=12.5 * FT_M)
    for name in ("squawk", "icao24", "callsign"):
        assert texts(got[name]) == texts(want[name]), name
    assert set(got["typ"][want["sic"] == 7]) == {1} and set(got["typ"][want["sic"] == 201]) <= {2, 5}
    service = [r for r in ref if r["category"] == 34]
    assert {r["I000"]["MsgTyp"]["val"] for r in service} == {1, 2}  # north markers and sector crossings
    assert {next(iter(r["I041"].values()))["val"] for r in service if "I041" in r} == {4.0, 10.0}


def test_write_then_read_round_trip_across_midnight(tmp_path):
    plots, sensors = synthetic_plots(t0=day_start_epoch_s("2026-06-01") + 86400 - 60)  # 1 min before midnight
    path = tmp_path / "plots.ast"
    write_cat048(plots, sensors, path)
    rec = read_asterix_recording(path, sensors, date="2026-06-01")
    back = rec.plots
    assert len(back) == len(plots) and rec.stats.malformed == 0
    assert back["t"].is_monotonic_increasing
    want = plots.sort_values("t", kind="stable").reset_index(drop=True)
    assert np.abs(back["t"] - want["t"]).max() <= 0.5 / 128 + 1e-6  # no day lost at midnight
    merged = back.merge(want, on=["sensor", "range_m"], how="outer", suffixes=("", "_w"), indicator=True)
    assert len(merged) >= len(want)  # ranges are quantised, so match by nearest instead:
    for sensor in ("SSR-1", "PSR-1"):
        a = back[back["sensor"] == sensor].sort_values(["t", "range_m"]).reset_index(drop=True)
        b = want[want["sensor"] == sensor].sort_values(["t", "range_m"]).reset_index(drop=True)
        np.testing.assert_allclose(a["range_m"], b["range_m"], atol=0.5 / 256 * NM_M)
        assert a["squawk"].isna().all() == (sensor == "PSR-1")
    # north markers carry the rotation period of each radar
    periods = rec.service.dropna(subset=["rotation_period_s"]).groupby("sensor")["rotation_period_s"].first()
    assert periods.to_dict() == {"PSR-1": 10.0, "SSR-1": 4.0}


def test_pcap_of_our_blocks_reads_like_the_file(tmp_path):
    plots, sensors = synthetic_plots(n=100)
    blocks = encode_cat048(plots, sensors)
    cap = tmp_path / "plots.pcap"
    cap.write_bytes(pcap_bytes([(t + 0.05, b) for t, b in blocks]))
    from_capture, stats = read_asterix(cap, sensors)  # no date: the capture's
    ast = tmp_path / "plots.ast"
    ast.write_bytes(b"".join(b for _, b in blocks))
    from_file, _ = read_asterix(ast, sensors, date="2026-06-01")
    pd.testing.assert_frame_equal(from_capture, from_file)
    assert stats.rows == 100


def test_unknown_codes_missing_date_and_broken_blocks(tmp_path):
    plots, sensors = synthetic_plots(n=50)
    path = tmp_path / "plots.ast"
    write_cat048(plots, sensors, path)
    only_ssr = [s for s in sensors if s.id == "SSR-1"]
    got, stats = read_asterix(path, only_ssr, date="2026-06-01")
    assert set(got["sensor"]) == {"SSR-1"} and stats.rows == (plots["sensor"] == "SSR-1").sum()
    assert stats.unknown_sensor > (plots["sensor"] == "PSR-1").sum()  # its plots and its CAT034 messages
    with pytest.raises(InputError, match="SAC/SIC"):
        read_asterix(path, [radar("OTHER", 99)], date="2026-06-01")
    with pytest.raises(InputError, match="date"):
        read_asterix(path, sensors)
    data = path.read_bytes()
    cut = tmp_path / "cut.ast"
    cut.write_bytes(data[: len(data) // 2])
    got, stats = read_asterix(cut, sensors, date="2026-06-01")
    assert 0 < len(got) < len(plots) and stats.malformed == 1 and "byte" in stats.first_error
    with pytest.raises(InputError, match=r"byte \d+"):
        read_asterix(cut, sensors, date="2026-06-01", strict=True)


def test_primary_radar_plots_with_only_the_required_columns(tmp_path):
    psr = radar("PSR-1", 7, "psr", 10.0)
    t0 = day_start_epoch_s("2026-06-01") + 38700.0
    plots = pd.DataFrame({"t": t0 + np.arange(5.0), "sensor": "PSR-1", "range_m": 5e4, "azimuth_deg": 36.0 * np.arange(5)})
    write_cat048(plots, [psr], tmp_path / "plots.ast")
    back, stats = read_asterix(tmp_path / "plots.ast", [psr], date="2026-06-01")
    np.testing.assert_allclose(back["t"], plots["t"])
    assert back[["alt_m", "icao24", "squawk", "callsign"]].isna().all().all() and stats.rows == 5


def test_writer_refuses_what_cat048_cannot_carry(tmp_path):
    plots, sensors = synthetic_plots(n=5)
    with pytest.raises(ValueError, match="sac/sic"):
        write_cat048(plots, [Sensor("SSR-1", "ssr", 0, 0, 0)], tmp_path / "x.ast")
    far = plots.assign(range_m=600e3)
    with pytest.raises(ValueError, match="range"):
        write_cat048(far, sensors, tmp_path / "x.ast")
