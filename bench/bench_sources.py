"""Speed of the sensor-format readers, side by side with the per-message reference decoders, in one run.

    .venv/bin/python bench/bench_sources.py [--messages 1000000] [--plots 200000]

Mode S: a synthetic day of a busy receiver (aircraft on straight legs over the VRAEM sending ADS-B positions,
velocities and identities, and address/parity replies to radars) plus the real messages of pyModeS's README,
encoded by centinela.sources.modes_encode into one Beast recording. Our reader (Beast framing + vectorised
decoding) runs on all of it; pyModeS's stateful PipeDecoder — what one would otherwise call per message — on
a slice, both in messages per second.

ASTERIX: CAT048 plots written by our writer, decoded by our NumPy decoder and by asterix-decoder's C++
parser (asterix.parse, which returns a Python dict per record) on a slice, in records per second.
"""
from __future__ import annotations

import argparse
import importlib.metadata
import re
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

from centinela.model import Sensor
from centinela.sources.asterix import encode_cat048, read_asterix
from centinela.sources.beast import read_beast, split_beast
from centinela.sources.modes import decode_modes, frames_from_hex, frames_to_hex
from centinela.sources.modes_encode import BEAST_TICKS_PER_S, beast_bytes, encode_adsb

T0 = 1780300800.0  # 2026-06-01 08:00 UTC


def synthetic_day(n_messages: int, seed: int = 1) -> pd.DataFrame:
    """ADSB_COLUMNS rows of a receiver's day: flights of an hour in view each, spread over the day, sending
    about six frames a second (two positions, two velocities, replies to radars, an identity now and then),
    as a receiver hears an aircraft in range."""
    rng = np.random.default_rng(seed)
    per_flight = 6 * 3600
    n_flights = max(n_messages // per_flight, 1)
    flight = rng.integers(0, n_flights, n_messages)
    start = rng.uniform(0, 86400.0 - 3600.0, n_flights)
    t_in = rng.uniform(0, 3600.0, n_messages)
    order = np.argsort(start[flight] + t_in, kind="stable")
    flight, t_in = flight[order], t_in[order]
    lat0, lon0 = rng.uniform(-14, -10, n_flights), rng.uniform(-76, -71, n_flights)
    heading = rng.uniform(0, 2 * np.pi, n_flights)
    speed = rng.uniform(60, 250, n_flights)
    along = speed[flight] * t_in
    lat = lat0[flight] + along * np.cos(heading[flight]) / 111e3
    lon = lon0[flight] + along * np.sin(heading[flight]) / (111e3 * np.cos(np.radians(lat0[flight])))
    kind = rng.choice([3, 4, 1, 5, 6, 8], n_messages, p=[0.35, 0.30, 0.03, 0.14, 0.08, 0.10])
    return pd.DataFrame({
        "t": T0 + start[flight] + t_in, "icao24": np.array([f"{0xE80000 + k:06x}" for k in range(n_flights)])[flight],
        "msg_type": kind, "callsign": np.array([f"FAP{k:03d}" for k in range(n_flights)])[flight],
        "alt_m": rng.uniform(500, 11000, n_flights)[flight], "lat": lat, "lon": lon, "gs_mps": speed[flight],
        "track_deg": np.degrees(heading[flight]) % 360, "vr_mps": 0.0,
        "squawk": np.array([f"{k % 4096:04o}" for k in range(n_flights)])[flight], "on_ground": False,
    })


def real_messages() -> list[str]:
    text = importlib.metadata.metadata("pyModeS").json.get("description", "")
    return list(dict.fromkeys(m.upper() for m in re.findall(r'"([0-9A-Fa-f]{28}|[0-9A-Fa-f]{14})"', text)))


def best_of(fn, repeat: int = 3) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def bench_modes(n_messages: int, n_reference: int, workdir: Path) -> list[tuple[str, int, float]]:
    rows = synthetic_day(n_messages)
    frames, nbytes = encode_adsb(rows)
    # replicate the real README messages through the day (every 1000th slot)
    real_frames, real_nbytes = frames_from_hex(real_messages())
    slots = np.arange(0, n_messages, 1000)
    frames[slots] = real_frames[np.arange(slots.size) % len(real_frames)]
    nbytes[slots] = real_nbytes[np.arange(slots.size) % len(real_nbytes)]
    t = rows["t"].to_numpy()
    path = workdir / "day.beast"
    path.write_bytes(beast_bytes(np.round((t - T0) * BEAST_TICKS_PER_S).astype(np.int64), frames, nbytes))

    results = []
    elapsed = best_of(lambda: read_beast(path, t0_s=T0))
    results.append(("centinela read_beast (framing + decoding)", n_messages, elapsed))
    data = path.read_bytes()
    results.append(("  of which Beast framing (split_beast)", n_messages, best_of(lambda: split_beast(data))))
    results.append(("  of which Mode S decoding (decode_modes)", n_messages,
                    best_of(lambda: decode_modes(t, frames, nbytes))))
    _, stats = read_beast(path, t0_s=T0)
    print(f"decode counters: {stats}")

    import pyModeS

    hexes = frames_to_hex(frames[:n_reference], nbytes[:n_reference]).tolist()
    ts = t[:n_reference].tolist()

    def reference() -> None:
        pipe = pyModeS.PipeDecoder()
        for msg, ti in zip(hexes, ts, strict=True):
            pipe.decode(msg, timestamp=ti)

    results.append(("pyModeS PipeDecoder, per message (hex given)", n_reference, best_of(reference, repeat=1)))
    return results


def bench_asterix(n_plots: int, n_reference: int, workdir: Path) -> list[tuple[str, int, float]]:
    rng = np.random.default_rng(2)
    sensors = [Sensor(f"SSR-{k}", "ssr", -12.5, -73.9, 2500.0, scan_s=4.0, sac=25, sic=k) for k in range(1, 4)]
    t = T0 + np.sort(rng.uniform(0, 3600.0, n_plots))  # a busy hour: ~55 plots a second from three radars
    plots = pd.DataFrame({
        "t": t, "sensor": rng.choice([s.id for s in sensors], n_plots), "range_m": rng.uniform(1e3, 400e3, n_plots),
        "azimuth_deg": np.mod(t / 4.0 * 360.0, 360.0), "alt_m": rng.uniform(0, 12000, n_plots),
        "icao24": [f"{x:06x}" for x in rng.integers(0, 2**24, n_plots)],
        "squawk": [f"{x:04o}" for x in rng.integers(0, 4096, n_plots)], "callsign": "FAP357",
    })
    started = time.perf_counter()
    blocks = encode_cat048(plots, sensors)
    write_s = time.perf_counter() - started
    path = workdir / "plots.ast"
    path.write_bytes(b"".join(b for _, b in blocks))
    results = [("centinela write_cat048 (encoding)", n_plots, write_s)]
    results.append(("centinela read_asterix (NumPy decoder)", n_plots,
                    best_of(lambda: read_asterix(path, sensors, date="2026-06-01"))))
    try:
        import asterix
    except ImportError:
        print("asterix-decoder not installed: reference skipped")
        return results
    data = b""
    for _, b in blocks:  # CAT048 blocks until about n_reference records (~25 bytes each)
        if b[0] == 48:
            data += b
        if len(data) > n_reference * 25:
            break
    parsed = asterix.parse(data, verbose=False)
    n_records = sum(1 for r in parsed if r["category"] == 48)
    results.append(("asterix-decoder asterix.parse (dict per record)", n_records,
                    best_of(lambda: asterix.parse(data, verbose=False), repeat=1)))
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--messages", type=int, default=1_000_000)
    parser.add_argument("--reference-messages", type=int, default=50_000)
    parser.add_argument("--plots", type=int, default=200_000)
    parser.add_argument("--reference-plots", type=int, default=50_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        rows = bench_modes(args.messages, args.reference_messages, Path(tmp))
        rows += bench_asterix(args.plots, args.reference_plots, Path(tmp))
    print("\n| what | items | seconds | items/s |\n| --- | ---: | ---: | ---: |")
    for name, n, seconds in rows:
        print(f"| {name} | {n:,} | {seconds:.2f} | {n / seconds:,.0f} |")


if __name__ == "__main__":
    main()
