"""Operations centre speed: API latency over a month of stored data, and live-stream throughput at 10× traffic.

    python bench/bench_server.py                  # simulate and analyse one day, then measure
    python bench/bench_server.py --outputs OUT    # use an existing `centinela analyze` output folder
    python bench/bench_server.py --quick          # fewer days and requests (a smoke run)

1. One simulated VRAEM day (the demo's seed): analysed by the pipeline. If the pipeline cannot run yet, the
   day's track updates are taken from the simulator's own aircraft states at the radar's 10 s scan (the same
   aircraft, the same row count a tracker would write); the output says which was used.
2. A month: the day stored 30 times, shifted by whole days (30 runs), in SQLite (and in PostgreSQL when the
   server binaries are installed).
3. API latency: GET /api/tracks for the busiest hour of the last day, through a real uvicorn server (its own
   process) and HTTP client; p50/p95 over the requests, and the store query alone for comparison.
4. Live stream: the day's tracks replicated 10× (ten aircraft for every one, offset a few km), replayed as fast
   as the hub can publish, to 1 and to 4 WebSocket clients; rows delivered per second and how many times faster
   than real time that is.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing as mp
import platform
import socket
import sys
import tempfile
import time
from pathlib import Path

import httpx
import numpy as np
import pandas as pd
import websockets

from centinela import model
from centinela.store import Store, add_user
from centinela.store.throwaway import PostgresUnavailable, postgres_cluster

SEED = 2026  # centinela demo's default seed
DAY_S = 86400.0
SCAN_S = 10.0  # a surveillance radar's rotation, the rate a tracker updates at
TRAFFIC_FACTOR = 10
COPY_OFFSET_DEG = 0.03  # ~3 km between the replicated aircraft, so they are distinct tracks on the map
UNIT = "VRAEM-OPS"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _day_from_truth(scenario: Path) -> model.Outputs:
    """Track rows from the simulator's aircraft states, sampled at the radar scan (fallback only)."""
    states = pd.read_csv(scenario / "truth" / "states.csv")
    flights = pd.read_csv(scenario / "truth" / "flights.csv", dtype=str).set_index("truth_id")
    states = states[~states["on_ground"].astype(bool)]
    states = states[(states["t"] % SCAN_S) < 1e-6].sort_values(["truth_id", "t"])
    step = states.groupby("truth_id")[["t", "lat", "lon"]].diff()
    cos_lat = np.cos(np.radians(states["lat"]))
    tracks = pd.DataFrame({
        "t": states["t"].astype(float), "track_id": states["truth_id"], "lat": states["lat"], "lon": states["lon"],
        "alt_m": states["alt_m"].where(states["transponder"].astype(bool)),
        "vn_mps": step["lat"] * 111_195.0 / step["t"], "ve_mps": step["lon"] * 111_195.0 * cos_lat / step["t"],
        "sigma_pos_m": 150.0,
        "icao24": states["truth_id"].map(flights["icao24"]).where(states["transponder"].astype(bool)),
        "callsign": states["truth_id"].map(flights["callsign"]).where(states["transponder"].astype(bool)),
    }).sort_values("t", kind="stable")
    tracks["flight_id"] = tracks["track_id"]
    return model.Outputs(tracks=model.conform(tracks, model.TRACK_COLUMNS, model.TRACK_OPTIONAL_COLUMNS),
                         stages={"tracks": "from simulator states (bench fallback)"})


def one_day(outputs_dir: Path | None) -> tuple[model.Outputs, str]:
    from centinela.io.outputs import read_outputs

    if outputs_dir is not None:
        return read_outputs(outputs_dir), f"analyze outputs {outputs_dir}"
    from centinela.sim import simulate

    work = Path(tempfile.mkdtemp(prefix="bench-server-"))
    simulate(work / "scenario", days=1.0, seed=SEED)
    try:
        from centinela.pipeline import analyze

        return analyze(work / "scenario", work / "out"), f"simulated day (seed {SEED}), analysed by the pipeline"
    except Exception as e:  # noqa: BLE001 — the pipeline is optional for this benchmark
        print(f"  pipeline failed ({type(e).__name__}: {e}); using the simulator's states", file=sys.stderr)
        return _day_from_truth(work / "scenario"), f"simulated day (seed {SEED}), tracks from simulator states"


def shifted(outputs: model.Outputs, days: int) -> model.Outputs:
    dt = days * DAY_S
    out = model.Outputs(tracks=outputs.tracks.assign(t=outputs.tracks["t"] + dt),
                        assessments=outputs.assessments)
    if len(outputs.events):
        out.events = outputs.events.assign(t=outputs.events["t"] + dt, t_end=outputs.events["t_end"] + dt)
    if len(outputs.alerts):
        out.alerts = outputs.alerts.assign(t_issued=outputs.alerts["t_issued"] + dt, eta=outputs.alerts["eta"] + dt)
    return out


def query_p95_ms(store: Store, window: tuple[float, float], requests: int) -> float:
    return percentiles_ms(timings(lambda: store.tracks(*window), requests))[1]


def load_month(store: Store, day: model.Outputs, days: int, hour: tuple[float, float], requests: int
               ) -> tuple[float, float, float]:
    """Store ``days`` copies of the day. Returns track rows written per second, and the store's p95 for the
    busiest hour of the newest day with one day stored and with all of them (the index at work: the two
    should be alike)."""
    started = time.perf_counter()
    store.load_outputs(day, "day-00", dispatch_to_units=[UNIT])
    spent = time.perf_counter() - started
    one_day_ms = query_p95_ms(store, hour, requests)
    started = time.perf_counter()
    for k in range(1, days):
        store.load_outputs(shifted(day, k), f"day-{k:02d}", dispatch_to_units=[UNIT])
    spent += time.perf_counter() - started
    last = (days - 1) * DAY_S
    return days * len(day.tracks) / spent, one_day_ms, query_p95_ms(store, (hour[0] + last, hour[1] + last), requests)


def busiest_hour(tracks: pd.DataFrame, shift_s: float) -> tuple[float, float, int]:
    hour = np.floor(tracks["t"].to_numpy() / 3600.0)
    values, counts = np.unique(hour, return_counts=True)
    t0 = float(values[counts.argmax()] * 3600.0) + shift_s
    return t0, t0 + 3600.0, int(counts.max())


def percentiles_ms(samples: list[float]) -> tuple[float, float]:
    return float(np.percentile(samples, 50) * 1000), float(np.percentile(samples, 95) * 1000)


def _run_server(url: str, port: int, replay: dict | None) -> None:
    """Target of the server process: the app over ``url``, with a replay when asked."""
    import uvicorn

    from centinela.server import create_app
    from centinela.server.live import ReplayFeed

    store = Store(url)
    feed = None
    if replay is not None:
        tracks = pd.read_parquet(replay["tracks"])
        feed = ReplayFeed(tracks, model.empty_frame(model.ALERT_COLUMNS), "bench", speed=replay["speed"],
                          tick_s=replay["tick_s"])
    app = create_app(store, feed=feed, min_subscribers=replay["clients"] if replay else 0)
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning", timeout_graceful_shutdown=2)


def start_server(url: str, replay: dict | None = None) -> tuple[mp.Process, str]:
    port = _free_port()
    proc = mp.get_context("spawn").Process(target=_run_server, args=(url, port, replay), daemon=True)
    proc.start()
    base = f"http://127.0.0.1:{port}"
    for _ in range(200):
        try:
            httpx.get(base + "/api/status", timeout=1.0)
            return proc, base
        except httpx.TransportError:
            time.sleep(0.1)
    raise RuntimeError("server did not start")


def timings(call, repeats: int) -> list[float]:
    """Wall-clock seconds of each of ``repeats`` calls."""
    out = []
    for _ in range(repeats):
        started = time.perf_counter()
        call()
        out.append(time.perf_counter() - started)
    return out


def api_latency(url: str, window: tuple[float, float], requests: int) -> dict:
    proc, base = start_server(url)
    try:
        with httpx.Client(base_url=base, timeout=30.0) as client:
            client.post("/api/login", json={"username": "bench", "password": "bench-pw"}).raise_for_status()
            params = {"t0": window[0], "t1": window[1]}
            rows = len(client.get("/api/tracks", params=params).json())
            times = timings(lambda: client.get("/api/tracks", params=params).raise_for_status(), requests)
            bbox = {**params, "bbox": "-74.6,-13.3,-73.4,-11.3"}
            rows_bbox = len(client.get("/api/tracks", params=bbox).json())
            times_bbox = timings(lambda: client.get("/api/tracks", params=bbox).raise_for_status(), requests)
    finally:
        proc.terminate()
        proc.join()
    store = Store(url)
    query = timings(lambda: store.tracks(*window), requests)
    return {"rows": rows, "http": percentiles_ms(times), "rows_bbox": rows_bbox, "http_bbox": percentiles_ms(times_bbox),
            "store": percentiles_ms(query)}


def replicate(tracks: pd.DataFrame, factor: int) -> pd.DataFrame:
    copies = []
    for k in range(factor):
        copy = tracks.copy()
        copy["track_id"] = copy["track_id"] + f"~{k}"
        copy["lat"] = copy["lat"] + k * COPY_OFFSET_DEG
        copies.append(copy)
    return pd.concat(copies, ignore_index=True).sort_values("t", kind="stable").reset_index(drop=True)


async def _listen(base: str, token: str, counts: list[int]) -> None:
    async with websockets.connect(base.replace("http", "ws") + f"/api/live?token={token}", max_size=None) as ws:
        async for text in ws:
            message = json.loads(text)
            if message["type"] == "tracks":
                counts[0] += message["n"]
            elif message["type"] == "end":
                return


def stream_throughput(url: str, tracks: pd.DataFrame, clients: int, work: Path) -> dict:
    """Replay ``tracks`` as fast as the hub publishes (a batch per sim minute) to ``clients`` WebSockets."""
    path = work / "stream.parquet"
    tracks.to_parquet(path)
    span_s = float(tracks["t"].max() - tracks["t"].min())
    # A batch per simulated minute (6 radar scans), with no wait between batches: the hub's own speed limit.
    replay = {"tracks": str(path), "speed": 60.0 / 1e-4, "tick_s": 1e-4, "clients": clients}
    proc, base = start_server(url, replay)
    try:
        tokens = [httpx.post(base + "/api/login", json={"username": "bench", "password": "bench-pw"}).json()["token"]
                  for _ in range(clients)]
        counts = [[0] for _ in range(clients)]

        async def run_all() -> float:
            started = time.perf_counter()
            await asyncio.gather(*(_listen(base, tok, c) for tok, c in zip(tokens, counts)))
            return time.perf_counter() - started

        wall_s = asyncio.run(run_all())
    finally:
        proc.terminate()
        proc.join()
    delivered = sum(c[0] for c in counts)
    return {"rows": len(tracks), "delivered_per_client": counts[0][0], "wall_s": wall_s,
            "rows_per_s": delivered / wall_s, "realtime_factor": span_s / wall_s}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--outputs", type=Path, help="an analyze output folder to use as the day")
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--requests", type=int, default=100)
    parser.add_argument("--quick", action="store_true", help="3 days, 20 requests")
    args = parser.parse_args()
    days, requests = (3, 20) if args.quick else (args.days, args.requests)

    print(f"# bench_server — {time.strftime('%Y-%m-%d')}, {platform.python_version()}, "
          f"{mp.cpu_count()} cores; {days} days, {requests} requests")
    day, source = one_day(args.outputs)
    print(f"day: {source}: {len(day.tracks)} track updates, {day.tracks['track_id'].nunique()} tracks, "
          f"{len(day.events)} events, {len(day.alerts)} alerts")
    work = Path(tempfile.mkdtemp(prefix="bench-server-"))
    t0, t1, busiest = busiest_hour(day.tracks, 0.0)
    print(f"busiest hour: {busiest} track updates")

    backends = {"sqlite": f"sqlite:///{work / 'month.db'}"}
    pg = None
    try:
        pg = postgres_cluster()
        backends["postgresql"] = pg.__enter__()
    except PostgresUnavailable as e:
        print(f"postgresql: skipped ({e})")
    try:
        for name, url in backends.items():
            store = Store(url)
            add_user(store, "bench", "bench-pw", role="analyst", unit=UNIT, scrypt_n=2**14)
            rate, one_day_ms, month_ms = load_month(store, day, days, (t0, t1), requests)
            store.close()
            last = (days - 1) * DAY_S
            result = api_latency(url, (t0 + last, t1 + last), requests)
            print(f"{name}: load {rate:,.0f} track rows/s; store query p95 with 1 day stored {one_day_ms:.1f} ms, "
                  f"with {days} days {month_ms:.1f} ms")
            print(f"{name}: GET /api/tracks busiest hour ({result['rows']} rows): "
                  f"p50 {result['http'][0]:.1f} ms, p95 {result['http'][1]:.1f} ms; with VRAEM bbox "
                  f"({result['rows_bbox']} rows): p95 {result['http_bbox'][1]:.1f} ms; store query alone p95 "
                  f"{result['store'][1]:.1f} ms")
        ten_x = replicate(day.tracks, TRAFFIC_FACTOR)
        for clients in (1, 4):
            result = stream_throughput(backends["sqlite"], ten_x, clients, work)
            print(f"live stream, {TRAFFIC_FACTOR}x traffic ({result['rows']} updates/day), {clients} client(s): "
                  f"{result['rows_per_s']:,.0f} updates/s delivered in total, the day in {result['wall_s']:.1f} s = "
                  f"{result['realtime_factor']:,.0f}x real time")
    finally:
        if pg is not None:
            pg.__exit__(None, None, None)


if __name__ == "__main__":
    main()
