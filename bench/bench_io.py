"""Speed of the contract readers and writers on large files: plots.jsonl (1M lines) and adsb.sbs (500k lines).

Run: .venv/bin/python bench/bench_io.py [--plots N] [--sbs N]
Prints lines per second for each writer and reader; numbers go into bench/README.md.
"""
from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

from centinela.io import iter_plots_jsonl, read_plots_jsonl, read_sbs, write_plots_jsonl, write_sbs

T0 = 1_780_310_700.0


def synthetic_plots(n: int, rng: np.random.Generator) -> pd.DataFrame:
    """Plots of three radars, a third of them SSR with altitude and identity, in time order."""
    sensor = rng.choice(["PSR-1", "PSR-2", "SSR-1"], n)
    is_ssr = sensor == "SSR-1"
    return pd.DataFrame({
        "t": T0 + np.sort(rng.random(n)) * 86_400,
        "sensor": sensor,
        "range_m": rng.random(n) * 200_000,
        "azimuth_deg": rng.random(n) * 360,
        "alt_m": np.where(is_ssr, rng.random(n) * 6_000, np.nan),
        "icao24": np.where(is_ssr, "e8044e", None),
        "squawk": np.where(is_ssr, "1200", None),
    })


def synthetic_adsb(n: int, rng: np.random.Generator) -> pd.DataFrame:
    """A mix of position (MSG,3), velocity (MSG,4) and identity (MSG,1) messages."""
    msg_type = rng.choice([3, 3, 4, 1], n)
    pos, vel = msg_type == 3, msg_type == 4
    nan = np.full(n, np.nan)
    return pd.DataFrame({
        "t": T0 + np.sort(rng.random(n)) * 86_400,
        "icao24": rng.choice(["e8044e", "e80123", "e80777", "a1b2c3"], n),
        "msg_type": msg_type,
        "callsign": np.where(msg_type == 1, "LPE2101", None),
        "alt_m": np.where(pos, rng.random(n) * 10_000, nan),
        "gs_mps": np.where(vel, rng.random(n) * 250, nan),
        "track_deg": np.where(vel, rng.random(n) * 360, nan),
        "lat": np.where(pos, -12 - rng.random(n), nan),
        "lon": np.where(pos, -74 + rng.random(n), nan),
        "vr_mps": np.where(vel, rng.normal(0, 5, n), nan),
        "on_ground": pd.array(np.where(pos, False, None), dtype="boolean"),
    })


def timed(label: str, n: int, fn) -> object:
    """Run ``fn`` and print wall-clock and CPU (all threads of this process) throughput; on a shared machine
    the CPU figure is the steadier one."""
    wall, cpu = time.perf_counter(), time.process_time()
    result = fn()
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    print(f"{label:<36} {n:>9,} lines  wall {wall:6.2f} s {n / wall:>10,.0f} lines/s   "
          f"cpu {cpu:6.2f} s {n / cpu:>10,.0f} lines/cpu-s")
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--plots", type=int, default=1_000_000)
    parser.add_argument("--sbs", type=int, default=500_000)
    args = parser.parse_args()
    print(f"load average before: {' '.join(f'{x:.1f}' for x in os.getloadavg())} on {os.cpu_count()} cores")
    rng = np.random.default_rng(1)
    with tempfile.TemporaryDirectory() as folder:
        plots_path, sbs_path = Path(folder) / "plots.jsonl", Path(folder) / "adsb.sbs"
        plots = synthetic_plots(args.plots, rng)
        timed("write_plots_jsonl", args.plots, lambda: write_plots_jsonl(plots, plots_path))
        print(f"  ({plots_path.stat().st_size / 1e6:.0f} MB)")
        back = timed("read_plots_jsonl", args.plots, lambda: read_plots_jsonl(plots_path))
        assert len(back) == args.plots
        timed("iter_plots_jsonl (200k-line chunks)", args.plots,
              lambda: sum(len(c) for c in iter_plots_jsonl(plots_path)))
        adsb = synthetic_adsb(args.sbs, rng)
        timed("write_sbs", args.sbs, lambda: write_sbs(adsb, sbs_path))
        print(f"  ({sbs_path.stat().st_size / 1e6:.0f} MB)")
        back = timed("read_sbs", args.sbs, lambda: read_sbs(sbs_path))
        assert len(back) == args.sbs


if __name__ == "__main__":
    main()
