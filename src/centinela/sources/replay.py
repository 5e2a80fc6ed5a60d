"""Play a recording back onto a local socket, in real or accelerated time, for tests and demos::

    python -m centinela.sources.replay adsb.beast --port 30005 --speed 60
    python -m centinela.sources.replay plots.pcap --port 4000 --speed 10      # UDP datagrams to 127.0.0.1:4000

Beast, hex and SBS recordings are served over TCP: the replay listens on ``--port`` and streams the file to
each client that connects (one at a time, ``--loops`` times), as dump1090 serves its ports. ASTERIX recordings
(``.ast`` data blocks, ``.pcap`` captures) are sent as UDP datagrams to ``--host:--port``, one data block (or
captured packet) each. Pacing follows the recording's own clock — Beast 12 MHz time stamps, hex times, SBS
generated times, ASTERIX times of day, capture times — divided by ``--speed``.
"""
from __future__ import annotations

import argparse
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from centinela.sources.asterix import TOD_LSB_S, _Bytes, _decode_blocks, _walk_blocks
from centinela.sources.beast import split_beast, ticks_to_seconds
from centinela.sources.pcap import read_udp_payloads
from centinela.sources.stats import DecodeStats

TCP_FORMATS, UDP_FORMATS = ("beast", "hex", "sbs"), ("asterix",)
SUFFIX_FORMAT = {".beast": "beast", ".bin": "beast", ".hex": "hex", ".sbs": "sbs", ".ast": "asterix",
                 ".pcap": "asterix", ".pcapng": "asterix"}
# Units due within this much of each other go out in one send: fewer system calls, same timing to a person.
SEND_GRANULARITY_S = 0.01


@dataclass
class Recording:
    """A recording cut into units to send (frames, lines, data blocks, packets) with their times in
    seconds from the first."""

    format: str
    units: list[bytes]
    time_s: np.ndarray


def load_recording(path: str | Path, fmt: str | None = None) -> Recording:
    """Cut a recording file into timed units; the format comes from the suffix unless given."""
    path = Path(path)
    fmt = fmt or SUFFIX_FORMAT.get(path.suffix.lower())
    if fmt is None:
        raise ValueError(f"{path}: cannot tell the format from the suffix; pass --format")
    data = path.read_bytes()
    if fmt == "beast":
        cut = split_beast(data, source=str(path))
        edges = np.concatenate([[0], cut.offset[1:], [len(data)]]) if cut.offset.size else np.array([0, len(data)])
        units = [data[a:b] for a, b in zip(edges[:-1].tolist(), edges[1:].tolist(), strict=True)]
        return Recording(fmt, units, ticks_to_seconds(cut.ticks) if cut.ticks.size else np.zeros(1))
    if fmt in ("hex", "sbs"):
        lines = data.splitlines(keepends=True)
        return Recording(fmt, lines, _line_times(lines, fmt))
    if fmt == "asterix":
        if data[:4] in (b"\xd4\xc3\xb2\xa1", b"\xa1\xb2\xc3\xd4", b"\x4d\x3c\xb2\xa1", b"\xa1\xb2\x3c\x4d",
                        b"\x0a\x0d\x0d\x0a"):
            packets = read_udp_payloads(data, str(path))
            units = [packets.payload(k) for k in range(len(packets))]
            t = packets.time_s - (packets.time_s[0] if len(packets) else 0.0)
            return Recording(fmt, units, np.nan_to_num(t))
        return _asterix_blocks(data, str(path))
    raise ValueError(f"unknown format {fmt!r}")


def _line_times(lines: list[bytes], fmt: str) -> np.ndarray:
    """Seconds from the first line: the leading time of hex lines, the generated date/time of SBS lines;
    lines without a readable time go out with the line before them."""
    text = pd.Series([x.decode("ascii", "replace") for x in lines], dtype="string")
    if fmt == "hex":
        t = pd.to_numeric(text.str.extract(r"^\s*([-+0-9.eE]+)\s")[0], errors="coerce")
    else:
        fields = text.str.split(",", expand=True, n=10)
        if fields.shape[1] > 7:
            stamp = fields[6].str.strip() + " " + fields[7].str.strip()
            parsed = pd.to_datetime(stamp, format="%Y/%m/%d %H:%M:%S.%f", errors="coerce", utc=True)
            t = (parsed - pd.Timestamp(0, tz="UTC")).dt.total_seconds()
        else:
            t = pd.Series(np.nan, index=text.index)
    t = t.astype("float64").ffill().bfill().fillna(0.0).to_numpy()
    return t - t[0] if t.size else t


def _asterix_blocks(data: bytes, source: str) -> Recording:
    """Data blocks of a ``.ast`` file, timed by the first time of day each holds."""
    buf = _Bytes(data)
    stats = DecodeStats()
    blocks = _walk_blocks(buf, 0, len(data), source, stats, strict=False)
    records = _decode_blocks(buf, blocks, source, stats, strict=False)
    tod = np.full(len(blocks), np.nan)
    for cat, rec in records.items():
        item = rec.starts["140" if cat == 48 else "030"]
        has = item >= 0
        values = buf.uint(item[has], 3) * TOD_LSB_S
        np.fmin.at(tod, rec.block[has], values)
    t = pd.Series(tod).ffill().bfill().fillna(0.0).to_numpy()
    t = np.unwrap(t, period=86_400.0)
    units = [data[a:a + n] for a, n, _ in blocks]
    return Recording("asterix", units, t - t[0] if t.size else t)


def _paced(recording: Recording, speed: float, stop: threading.Event) -> list[bytes]:
    """Yield groups of units when they are due."""
    t = recording.time_s
    start = time.monotonic()
    k = 0
    while k < len(recording.units) and not stop.is_set():
        due = t[k] / speed
        wait = due - (time.monotonic() - start)
        if wait > 0:
            stop.wait(wait)
        now = (time.monotonic() - start) * speed
        j = int(np.searchsorted(t, now + SEND_GRANULARITY_S * speed, side="right"))
        j = max(j, k + 1)
        yield recording.units[k:j]
        k = j


def serve(recording: Recording, port: int, *, host: str = "127.0.0.1", speed: float = 1.0, loops: int = 1,
          on_ready: Callable[[int], None] | None = None, stop: threading.Event | None = None) -> None:
    """Play ``recording``: TCP server on ``host:port`` for Mode S formats (``port`` 0 picks a free port, given
    to ``on_ready``), UDP datagrams to ``host:port`` for ASTERIX. Returns after ``loops`` plays or ``stop``."""
    stop = stop or threading.Event()
    if recording.format in UDP_FORMATS:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
            if on_ready:
                on_ready(port)
            for _ in range(loops):
                for group in _paced(recording, speed, stop):
                    for unit in group:
                        sock.sendto(unit, (host, port))
        return
    with socket.create_server((host, port)) as server:
        server.settimeout(0.2)
        if on_ready:
            on_ready(server.getsockname()[1])
        played = 0
        while played < loops and not stop.is_set():
            try:
                conn, _ = server.accept()
            except TimeoutError:
                continue
            with conn:
                try:
                    for group in _paced(recording, speed, stop):
                        conn.sendall(b"".join(group))
                except OSError:
                    pass  # the client went away: wait for the next one
            played += 1


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m centinela.sources.replay", description=__doc__.split("\n")[0])
    parser.add_argument("file", type=Path)
    parser.add_argument("--port", type=int, required=True, help="TCP port to serve on, or UDP port to send to")
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on / send to (default 127.0.0.1)")
    parser.add_argument("--speed", type=float, default=1.0, help="playback speed (60: a minute a second)")
    parser.add_argument("--loops", type=int, default=1, help="how many times to play the file")
    parser.add_argument("--format", choices=TCP_FORMATS + UDP_FORMATS, default=None)
    args = parser.parse_args(argv)
    recording = load_recording(args.file, args.format)
    span = float(recording.time_s[-1]) if len(recording.time_s) else 0.0
    print(f"replaying {len(recording.units)} {recording.format} units ({span:.0f} s of recording) at "
          f"{args.speed:g}x on {args.host}:{args.port}", flush=True)
    try:
        serve(recording, args.port, host=args.host, speed=args.speed, loops=args.loops)
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
