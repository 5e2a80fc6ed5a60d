"""Live feeds: the file readers of this package on sockets, yielding DataFrames in batches.

Sources are URLs: ``tcp://HOST:PORT?format=beast`` (dump1090/readsb port 30005), ``tcp://HOST:PORT?format=sbs``
(port 30003), ``tcp://HOST:PORT?format=hex`` (raw ``*HEX;`` port 30002, or ``T HEX`` lines) and
``udp://ADDR:PORT?format=asterix`` (a radar's CAT048/CAT034 datagrams; bind address and port). The default
format is beast for tcp and asterix for udp.

How it behaves under load and failure:

- A receiver thread reads the socket all the time and puts what it gets in a queue bounded in bytes
  (``max_buffer_bytes``). When the consumer falls behind and the queue is full, the *oldest* chunks are
  dropped and counted (``LiveStats.chunks_dropped``/``bytes_dropped``): for surveillance the newest data
  matter most, and a sender such as dump1090 disconnects a client that stops reading anyway. A frame cut by a
  drop is skipped and counted by the decoder, which resynchronises on the next frame.
- TCP connections that fail or close are retried with exponential backoff (``backoff_initial_s`` doubling
  up to ``backoff_max_s``; reset once data flows again). Each new connection starts a clean frame parser.
- Batches: every ``batch_s`` the queue is drained and decoded into one DataFrame (PLOT_COLUMNS for ASTERIX,
  ADSB_COLUMNS otherwise). CPR and address state carries across batches.

``ingest(url, out_path, duration_s)`` records a feed to a file: ``.parquet`` (decoded rows), or the raw
contract formats ``.hex`` (Beast/hex feeds: ``T HEX`` lines with arrival-anchored epoch times), ``.sbs`` (SBS
feed lines as received), ``.ast``/``.pcap`` (ASTERIX datagrams; ``.ast`` needs sensors.toml ``date``).
"""
from __future__ import annotations

import collections
import socket
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Self
from urllib.parse import parse_qs, urlparse

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from centinela.errors import InputError
from centinela.model import ADSB_COLUMNS, PLOT_COLUMNS, Sensor, conform, empty_frame
from centinela.sources.asterix import AsterixStream
from centinela.sources.beast import BeastStream
from centinela.sources.modes import ModeSDecoder, frames_to_hex
from centinela.sources.modes_hex import parse_hex_lines
from centinela.sources.pcap import pcap_bytes
from centinela.sources.stats import DecodeStats

FORMATS = ("beast", "sbs", "hex", "asterix")
DEFAULT_FORMAT = {"tcp": "beast", "udp": "asterix"}
# 8 MiB holds about 10 minutes of a busy Beast feed (~15 kB/s); beyond that the data are too old to act on.
DEFAULT_MAX_BUFFER_BYTES = 8 * 1024 * 1024
RECV_BYTES = 65536  # one read from the socket; also the largest UDP datagram
POLL_S = 0.2  # how often blocked socket reads wake up to check for a stop request
CONNECT_TIMEOUT_S = 5.0


@dataclass
class LiveStats:
    """Counters of a live source; ``decode`` accumulates the decoders' DecodeStats."""

    connections: int = 0
    failed_connects: int = 0
    bytes_received: int = 0
    chunks_dropped: int = 0
    bytes_dropped: int = 0
    batches: int = 0
    decode: DecodeStats = field(default_factory=DecodeStats)


class ChunkQueue:
    """A thread-safe FIFO of (chunk, arrival time) bounded in bytes; a full queue drops its oldest chunks.

    ``None`` chunks mark a connection boundary (they cost nothing and are never dropped).

    >>> q = ChunkQueue(max_bytes=10)
    >>> for k in range(3):
    ...     q.put(bytes(6), float(k))
    >>> [t for _, t in q.take()], q.chunks_dropped, q.bytes_dropped
    ([2.0], 2, 12)
    """

    def __init__(self, max_bytes: int):
        self.max_bytes = max_bytes
        self._items: collections.deque = collections.deque()
        self._bytes = 0
        self._cond = threading.Condition()
        self.chunks_dropped = 0
        self.bytes_dropped = 0

    def put(self, chunk: bytes | None, arrival_s: float) -> None:
        with self._cond:
            self._items.append((chunk, arrival_s))
            self._bytes += len(chunk or b"")
            while self._bytes > self.max_bytes:
                old, _ = self._items.popleft()
                if old is None:
                    continue
                self._bytes -= len(old)
                self.chunks_dropped += 1
                self.bytes_dropped += len(old)
            self._cond.notify()

    def take(self, timeout_s: float = 0.0) -> list[tuple[bytes | None, float]]:
        """Everything queued (waiting up to ``timeout_s`` for the first item)."""
        with self._cond:
            if not self._items and timeout_s > 0:
                self._cond.wait(timeout_s)
            items = list(self._items)
            self._items.clear()
            self._bytes = 0
            return items


def parse_source_url(url: str) -> tuple[str, str, int, str]:
    """``tcp://host:port?format=beast`` -> ("tcp", host, port, format).

    >>> parse_source_url("udp://0.0.0.0:4000?format=asterix")
    ('udp', '0.0.0.0', 4000, 'asterix')
    >>> parse_source_url("tcp://localhost:30005")
    ('tcp', 'localhost', 30005, 'beast')
    """
    parts = urlparse(url)
    if parts.scheme not in DEFAULT_FORMAT or parts.hostname is None or parts.port is None:
        raise InputError(url, "expected a source like tcp://HOST:PORT?format=beast or udp://ADDR:PORT?format=asterix")
    fmt = parse_qs(parts.query).get("format", [DEFAULT_FORMAT[parts.scheme]])[0].lower()
    if fmt not in FORMATS:
        raise InputError(url, f"unknown format {fmt!r}; expected one of {', '.join(FORMATS)}", field="format")
    if (fmt == "asterix") != (parts.scheme == "udp"):
        raise InputError(url, "ASTERIX comes over udp://, the ADS-B formats over tcp://", field="format")
    return parts.scheme, parts.hostname, parts.port, fmt


class _Receiver(threading.Thread):
    """Reads a TCP or UDP socket into a ChunkQueue until stopped; reconnects TCP with exponential backoff."""

    def __init__(self, scheme: str, host: str, port: int, queue: ChunkQueue, stats: LiveStats,
                 backoff_initial_s: float, backoff_max_s: float):
        super().__init__(daemon=True, name=f"centinela-live-{scheme}-{port}")
        self.scheme, self.host, self.port = scheme, host, port
        self.queue, self.stats = queue, stats
        self.backoff_initial_s, self.backoff_max_s = backoff_initial_s, backoff_max_s
        self.stopping = threading.Event()

    def run(self) -> None:
        if self.scheme == "udp":
            self._run_udp()
        else:
            self._run_tcp()

    def _run_tcp(self) -> None:
        backoff = self.backoff_initial_s
        while not self.stopping.is_set():
            try:
                sock = socket.create_connection((self.host, self.port), timeout=CONNECT_TIMEOUT_S)
            except OSError:
                self.stats.failed_connects += 1
                self.stopping.wait(backoff)
                backoff = min(backoff * 2.0, self.backoff_max_s)
                continue
            self.stats.connections += 1
            self.queue.put(None, time.time())  # a new stream: frame parsers start clean
            sock.settimeout(POLL_S)
            with sock:
                while not self.stopping.is_set():
                    try:
                        data = sock.recv(RECV_BYTES)
                    except TimeoutError:
                        continue
                    except OSError:
                        break
                    if not data:
                        break  # the sender closed the connection
                    backoff = self.backoff_initial_s
                    self.stats.bytes_received += len(data)
                    self.queue.put(data, time.time())
            self.stopping.wait(backoff)
            backoff = min(backoff * 2.0, self.backoff_max_s)

    def _run_udp(self) -> None:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind((self.host, self.port))
            sock.settimeout(POLL_S)
            self.stats.connections += 1
            while not self.stopping.is_set():
                try:
                    data = sock.recv(RECV_BYTES)
                except TimeoutError:
                    continue
                self.stats.bytes_received += len(data)
                self.queue.put(data, time.time())


class LiveSource:
    """A live feed decoded in batches. Use as a context manager::

        with LiveSource("tcp://127.0.0.1:30005?format=beast") as feed:
            for rows in feed.batches(duration_s=60):
                ...

    ``sensors`` names ASTERIX radars by SAC/SIC; ``reference`` is the ADS-B receiver's (lat, lon) for surface
    positions.
    """

    def __init__(self, url: str, *, sensors: list[Sensor] | None = None,
                 reference: tuple[float, float] | None = None, batch_s: float = 1.0,
                 max_buffer_bytes: int = DEFAULT_MAX_BUFFER_BYTES, backoff_initial_s: float = 0.5,
                 backoff_max_s: float = 30.0):
        self.url = url
        self.scheme, self.host, self.port, self.format = parse_source_url(url)
        self.batch_s = batch_s
        self.stats = LiveStats()
        self.queue = ChunkQueue(max_buffer_bytes)
        self._receiver = _Receiver(self.scheme, self.host, self.port, self.queue, self.stats, backoff_initial_s,
                                   backoff_max_s)
        self._decoder = _BatchDecoder(self.format, sensors, reference, url)

    @property
    def columns(self) -> dict[str, str]:
        return PLOT_COLUMNS if self.format == "asterix" else ADSB_COLUMNS

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def start(self) -> None:
        if not self._receiver.is_alive():
            self._receiver.start()

    def close(self) -> None:
        self._receiver.stopping.set()
        self._receiver.join(timeout=2.0)

    def chunks(self, duration_s: float | None = None) -> Iterator[list[tuple[bytes | None, float]]]:
        """Raw received chunks, a batch at a time (None marks a new connection)."""
        self.start()
        deadline = None if duration_s is None else time.monotonic() + duration_s
        while not self._receiver.stopping.is_set():
            wait = self.batch_s if deadline is None else min(self.batch_s, max(deadline - time.monotonic(), 0))
            time.sleep(wait)
            items = self.queue.take()
            self.stats.chunks_dropped, self.stats.bytes_dropped = self.queue.chunks_dropped, self.queue.bytes_dropped
            if items:
                yield items
            if deadline is not None and time.monotonic() >= deadline:
                return

    def batches(self, duration_s: float | None = None) -> Iterator[pd.DataFrame]:
        """Decoded rows every ``batch_s`` (batches with no rows are not yielded), for ``duration_s`` or until
        :meth:`close`."""
        for items in self.chunks(duration_s):
            rows, stats = self._decoder.decode(items)
            self.stats.decode = self.stats.decode + stats
            self.stats.batches += 1
            if len(rows):
                yield rows


class _BatchDecoder:
    """Turns queued chunks into rows for one format, keeping partial frames/lines between batches."""

    def __init__(self, fmt: str, sensors, reference, source: str):
        self.format, self.source = fmt, source
        self.beast = BeastStream(reference, source=source)
        self.modes = ModeSDecoder(reference)
        self.asterix = AsterixStream(sensors, source=source)
        self._line_rest = b""

    def reset(self) -> None:
        self.beast.reset()
        self._line_rest = b""

    def lines(self, items: list[tuple[bytes | None, float]]) -> list[tuple[list[bytes], float]]:
        """Complete text lines of the chunks, with the arrival time of the chunk that completed them."""
        out = []
        for chunk, arrival in items:
            if chunk is None:
                self._line_rest = b""
                continue
            data = self._line_rest + chunk
            cut = data.rfind(b"\n") + 1
            self._line_rest = data[cut:]
            if cut:
                out.append((data[:cut].splitlines(), arrival))
        return out

    def decode(self, items: list[tuple[bytes | None, float]]) -> tuple[pd.DataFrame, DecodeStats]:
        if self.format == "asterix":
            data = [(c, a) for c, a in items if c]
            if not data:
                return empty_frame(PLOT_COLUMNS), DecodeStats()
            return self.asterix.feed([c for c, _ in data], [a for _, a in data])
        if self.format == "beast":
            return self._beast(items)
        if self.format == "hex":
            return self._hex(items)
        return self._sbs(items)

    def _beast(self, items) -> tuple[pd.DataFrame, DecodeStats]:
        frames, stats = [], DecodeStats()
        for chunk, arrival in items:
            if chunk is None:
                self.reset()
                continue
            t, f, n, s = self.beast.frames(chunk, arrival)
            frames.append((t, f, n))
            stats = stats + s
        return self._modes(frames, stats)

    def _hex(self, items) -> tuple[pd.DataFrame, DecodeStats]:
        frames, stats = [], DecodeStats()
        for lines, arrival in self.lines(items):
            t, f, n, s = parse_hex_lines([x.decode("ascii", "replace") for x in lines], source=self.source,
                                         arrival_s=arrival)
            frames.append((t, f, n))
            stats = stats + s
        return self._modes(frames, stats)

    def _modes(self, frames, stats: DecodeStats) -> tuple[pd.DataFrame, DecodeStats]:
        if not frames:
            return empty_frame(ADSB_COLUMNS), stats
        t = np.concatenate([x[0] for x in frames])
        f = np.concatenate([x[1] for x in frames])
        n = np.concatenate([x[2] for x in frames])
        rows, s = self.modes.decode(t, f, n)
        return rows, stats + s

    def _sbs(self, items) -> tuple[pd.DataFrame, DecodeStats]:
        # centinela.io.sbs reads files only, so complete lines go through a temporary file (see the report).
        from centinela.io.sbs import read_sbs

        lines = [line for chunk_lines, _ in self.lines(items) for line in chunk_lines if line.strip()]
        stats = DecodeStats(records=len(lines))
        if not lines:
            return empty_frame(ADSB_COLUMNS), stats
        with tempfile.NamedTemporaryFile(suffix=".sbs") as tmp:
            tmp.write(b"\n".join(lines) + b"\n")
            tmp.flush()
            try:
                rows = read_sbs(tmp.name)
            except InputError as e:
                stats.malformed = len(lines)  # one bad line costs its batch until io.sbs can skip lines
                stats.note_error(f"{self.source}: {e.message}")
                return empty_frame(ADSB_COLUMNS), stats
        stats.rows = len(rows)
        return rows, stats


def ingest(source_url: str, out_path: str | Path, duration_s: float | None = None, *,
           sensors: list[Sensor] | None = None, reference: tuple[float, float] | None = None,
           batch_s: float = 1.0) -> LiveStats:
    """Record a live feed to ``out_path`` for ``duration_s`` seconds (until interrupted when None).

    The suffix picks what is written: ``.parquet`` decoded rows (PLOT_COLUMNS or ADSB_COLUMNS); ``.hex`` raw Mode
    S frames as ``T HEX`` lines (Beast and hex feeds; the contract's ``adsb.hex``); ``.sbs`` the SBS lines as
    received (``adsb.sbs``); ``.ast`` or ``.pcap`` ASTERIX datagrams (``plots.ast``/``plots.pcap``). Returns the
    counters. Ctrl-C stops cleanly, keeping what was recorded.
    """
    out = Path(out_path)
    suffix = out.suffix.lower()
    source = LiveSource(source_url, sensors=sensors, reference=reference, batch_s=batch_s)
    allowed = {"beast": (".parquet", ".hex"), "hex": (".parquet", ".hex"), "sbs": (".parquet", ".sbs"),
               "asterix": (".parquet", ".ast", ".pcap")}[source.format]
    if suffix not in allowed:
        raise InputError(out, f"a {source.format} feed can be recorded as {', '.join(allowed)}, not {suffix!r}")
    out.parent.mkdir(parents=True, exist_ok=True)
    writer = _Recorder(out, source)
    try:
        with source:
            for items in source.chunks(duration_s):
                writer.write(items)
    except KeyboardInterrupt:
        pass
    finally:
        writer.close()
    return source.stats


class _Recorder:
    """Writes batches of a LiveSource to a file of the kind its suffix names."""

    def __init__(self, path: Path, source: LiveSource):
        self.path, self.source = path, source
        self.suffix = path.suffix.lower()
        self._parquet: pq.ParquetWriter | None = None
        self._file = None if self.suffix == ".parquet" else open(path, "wb")  # noqa: SIM115 (closed in close())
        self._packets: list[tuple[float, bytes]] = []
        self._beast = BeastStream(source=source.url)
        if self.suffix == ".pcap":
            self._file.write(pcap_bytes([]))

    def write(self, items: list[tuple[bytes | None, float]]) -> None:
        src = self.source
        if self.suffix == ".parquet":
            rows, stats = src._decoder.decode(items)
            src.stats.decode = src.stats.decode + stats
            src.stats.batches += 1
            if len(rows):
                table = pa.Table.from_pandas(conform(rows, src.columns), preserve_index=False)
                if self._parquet is None:
                    self._parquet = pq.ParquetWriter(self.path, table.schema)
                self._parquet.write_table(table)
        elif self.suffix in (".ast", ".pcap"):
            data = [(c, a) for c, a in items if c]
            if self.suffix == ".ast":
                self._file.write(b"".join(c for c, _ in data))
            else:
                self._file.write(pcap_bytes([(a, c) for c, a in data])[24:])  # records only, header written
        elif self.suffix == ".sbs":
            for lines, _ in src._decoder.lines(items):
                self._file.write(b"".join(line + b"\n" for line in lines if line.strip()))
        else:  # .hex
            if src.format == "beast":
                for chunk, arrival in items:
                    if chunk is None:
                        self._beast.reset()
                        continue
                    t, f, n, _ = self._beast.frames(chunk, arrival)
                    self._write_hex(t, f, n)
            else:
                for lines, arrival in src._decoder.lines(items):
                    t, f, n, _ = parse_hex_lines([x.decode("ascii", "replace") for x in lines], arrival_s=arrival)
                    self._write_hex(t, f, n)
        if self._file is not None:
            self._file.flush()

    def _write_hex(self, t: np.ndarray, frames: np.ndarray, nbytes: np.ndarray) -> None:
        text = "".join(f"{ti:.6f} {h}\n" for ti, h in zip(t, frames_to_hex(frames, nbytes), strict=True))
        self._file.write(text.encode("ascii"))

    def close(self) -> None:
        if self._parquet is not None:
            self._parquet.close()
        elif self.suffix == ".parquet":
            pq.write_table(pa.Table.from_pandas(empty_frame(self.source.columns), preserve_index=False), self.path)
        if self._file is not None:
            self._file.close()
