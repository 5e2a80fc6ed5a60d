"""Time the scenario simulator: one simulated day (three radars, four ADS-B receivers, four observer posts).

    .venv/bin/python bench/bench_sim.py [--days 1] [--profile easy] [--seed 1] [--repeat 2]

Prints the terrain build time (once per process), then for each run the wall time, the size on disk and
what was written. The numbers go into bench/README.md.
"""
from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from centinela.geo.terrain import SyntheticVraemTerrain
from centinela.io.scenario import read_scenario
from centinela.sim import simulate


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--days", type=float, default=1.0)
    parser.add_argument("--profile", default="easy", choices=["easy", "hard"])
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--repeat", type=int, default=2)
    args = parser.parse_args()

    t = time.perf_counter()
    SyntheticVraemTerrain()
    print(f"terrain build (cached per process): {time.perf_counter() - t:.2f} s")
    with tempfile.TemporaryDirectory() as tmp:
        for run in range(args.repeat):
            out = Path(tmp) / f"run{run}"
            t = time.perf_counter()
            summary = simulate(out, days=args.days, seed=args.seed, profile=args.profile)
            seconds = time.perf_counter() - t
            print(f"run {run + 1}: {args.days:g} day(s) {args.profile}: {seconds:.2f} s, "
                  f"{summary['bytes'] / 1e6:.1f} MB on disk")
        print("flights:", summary["flights"])
        print("plots:", summary["plots"], "adsb messages:", summary["adsb_messages"],
              "observations:", summary["observations"], "flight plans:", summary["flightplans"])
        for name, size in summary["files"].items():
            print(f"  {name:22s} {size / 1e6:8.2f} MB")
        t = time.perf_counter()
        scenario = read_scenario(out)
        print(f"read_scenario (every input, validated): {time.perf_counter() - t:.2f} s for "
              f"{len(scenario.plots)} plots and {len(scenario.adsb)} ADS-B messages")


if __name__ == "__main__":
    main()
