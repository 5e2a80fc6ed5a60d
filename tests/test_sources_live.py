"""Live feeds end to end on loopback: the replay tool plays recordings onto sockets, LiveSource and ingest
read them back. Each test bounds its run time and stops by itself."""
from __future__ import annotations

import subprocess
import sys
import threading
import time

import numpy as np
import pandas as pd
import pytest
from test_sources_asterix import synthetic_plots
from test_sources_modes import flight

from centinela.io.sbs import read_sbs, write_sbs
from centinela.sources.asterix import encode_cat048, read_asterix
from centinela.sources.beast import read_beast
from centinela.sources.live import ChunkQueue, LiveSource, ingest
from centinela.sources.modes_encode import write_beast
from centinela.sources.modes_hex import read_hex
from centinela.sources.pcap import pcap_bytes
from centinela.sources.replay import load_recording, serve

T0 = 1780310700.0
SPEED = 100.0  # the recordings below span ~1-2 minutes: about a second each on the wire


def start_replay(path, *, port: int = 0, loops: int = 1, speed: float = SPEED) -> tuple[int, threading.Event]:
    """Serve a recording in a background thread; returns the port and an event that stops it."""
    recording = load_recording(path)
    ready, stop, ports = threading.Event(), threading.Event(), []
    thread = threading.Thread(target=serve, args=(recording, port), daemon=True,
                              kwargs={"speed": speed, "loops": loops, "stop": stop,
                                      "on_ready": lambda p: (ports.append(p), ready.set())})
    thread.start()
    assert ready.wait(5.0)
    return ports[0], stop


def collect(source: LiveSource, want_rows: int, timeout_s: float = 8.0) -> pd.DataFrame:
    got, deadline = [], time.monotonic() + timeout_s
    for rows in source.batches(duration_s=timeout_s):
        got.append(rows)
        if sum(map(len, got)) >= want_rows or time.monotonic() > deadline:
            break
    return pd.concat(got, ignore_index=True) if got else pd.DataFrame()


def test_beast_feed_reconnects_and_decodes_like_the_file(tmp_path):
    truth = flight("e8044e", 240)
    path = tmp_path / "adsb.beast"
    write_beast(truth, path, t0_s=T0)
    expected, _ = read_beast(path, t0_s=T0)
    port, stop = start_replay(path, loops=2)  # the server closes after each play: the client must reconnect
    with LiveSource(f"tcp://127.0.0.1:{port}?format=beast", batch_s=0.2, backoff_initial_s=0.05) as source:
        rows = collect(source, 2 * len(expected))
    stop.set()
    assert source.stats.connections == 2 and source.stats.chunks_dropped == 0
    # each play is anchored on its arrival time and then follows the 12 MHz clock, so the accelerated plays of
    # the same aircraft overlap in time and a few positions of the second look like jumps: those are dropped
    # and counted (as are a few replies that the overlap puts before their address was seen). Every
    # identity and velocity arrives twice, exactly as decoded from the file.
    decode = source.stats.decode
    assert len(rows) + decode.implausible + decode.unknown_address == 2 * len(expected)
    assert decode.implausible + decode.unknown_address <= 10
    key = ["msg_type", "alt_m", "gs_mps", "callsign", "squawk"]
    other = rows[rows["msg_type"].isin([1, 4])]
    twice = pd.concat([expected, expected], ignore_index=True)
    twice = twice[twice["msg_type"].isin([1, 4])]
    pd.testing.assert_frame_equal(other.drop(columns="t").sort_values(key).reset_index(drop=True),
                                  twice.drop(columns="t").sort_values(key).reset_index(drop=True))
    resolved = rows.dropna(subset=["lat"])
    assert len(resolved) > 1.9 * expected["lat"].notna().sum() - 10
    assert resolved["lat"].between(truth["lat"].min() - 1e-4, truth["lat"].max() + 1e-4).all()
    span = expected["t"].max() - expected["t"].min()
    assert span <= rows["t"].max() - rows["t"].min() < span + 10.0


def test_asterix_over_udp_from_a_capture(tmp_path):
    plots, sensors = synthetic_plots(n=120, t0=time.time() - 30.0)  # times of day near now: a live feed
    cap = tmp_path / "plots.pcap"
    cap.write_bytes(pcap_bytes([(t, b) for t, b in encode_cat048(plots, sensors)]))
    expected, _ = read_asterix(cap, sensors)
    import socket

    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with LiveSource(f"udp://127.0.0.1:{port}?format=asterix", sensors=sensors, batch_s=0.2) as source:
        time.sleep(0.3)  # the receiver is bound before the first datagram leaves
        _, stop = start_replay(cap, port=port, speed=SPEED)
        rows = collect(source, len(expected))
    stop.set()
    assert len(rows) == len(expected)
    pd.testing.assert_frame_equal(rows.sort_values(["t", "range_m"]).reset_index(drop=True),
                                  expected.sort_values(["t", "range_m"]).reset_index(drop=True))


def test_ingest_records_the_contract_formats(tmp_path):
    truth = flight("e8044e", 120)
    path = tmp_path / "adsb.beast"
    write_beast(truth, path, t0_s=T0)
    expected, _ = read_beast(path, t0_s=T0)

    port, stop = start_replay(path)
    stats = ingest(f"tcp://127.0.0.1:{port}?format=beast", tmp_path / "out.hex", duration_s=2.5)
    stop.set()
    recorded, rstats = read_hex(tmp_path / "out.hex")  # the contract's adsb.hex, epoch-timed on arrival
    assert stats.connections >= 1 and rstats.malformed == 0
    pd.testing.assert_frame_equal(recorded.drop(columns="t"), expected.drop(columns="t"))

    port, stop = start_replay(path)
    ingest(f"tcp://127.0.0.1:{port}?format=beast", tmp_path / "out.parquet", duration_s=2.5)
    stop.set()
    table = pd.read_parquet(tmp_path / "out.parquet")
    assert len(table) == len(expected) and list(table.columns) == list(expected.columns)


def test_sbs_feed_through_the_contract_reader(tmp_path):
    truth = flight("e8044e", 60)
    path = tmp_path / "adsb.sbs"
    write_sbs(truth, path)
    expected = read_sbs(path)
    port, stop = start_replay(path)
    with LiveSource(f"tcp://127.0.0.1:{port}?format=sbs", batch_s=0.2) as source:
        rows = collect(source, len(expected))
    stop.set()
    pd.testing.assert_frame_equal(rows, expected)


def test_replay_command_line_serves_a_file(tmp_path):
    truth = flight("e8044e", 40)
    path = tmp_path / "adsb.hex"
    from centinela.sources.modes_encode import write_hex

    write_hex(truth, path)
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    proc = subprocess.Popen([sys.executable, "-m", "centinela.sources.replay", str(path), "--port", str(port),
                             "--speed", "1000"], stdout=subprocess.PIPE, text=True)
    try:
        assert "replaying 40 hex units" in proc.stdout.readline()
        with LiveSource(f"tcp://127.0.0.1:{port}?format=hex", batch_s=0.2, backoff_initial_s=0.05) as source:
            rows = collect(source, 40)
        assert len(rows) == 40
        np.testing.assert_allclose(rows["t"], truth["t"], atol=1e-6)  # the lines carry their own times
    finally:
        proc.kill()
        proc.wait(5)


def test_a_full_queue_drops_its_oldest_chunks():
    q = ChunkQueue(max_bytes=100)
    for k in range(10):
        q.put(bytes([k]) * 30, float(k))
    q.put(None, 10.0)  # connection marks cost nothing and survive
    items = q.take()
    assert [c[0] for c, _ in items if c] == [7, 8, 9] and items[-1][0] is None
    assert q.chunks_dropped == 7 and q.bytes_dropped == 210
    assert q.take() == []


def test_bad_urls_are_input_errors():
    from centinela.errors import InputError

    for url in ("http://x:1", "tcp://host", "udp://h:1?format=beast", "tcp://h:1?format=zip"):
        with pytest.raises(InputError):
            LiveSource(url)
