"""The live picture: a feed of time-ordered batches, and the hub that fans it out to connected clients.

A feed is any async iterator of :class:`Batch` — the replay of an analysed output (:class:`ReplayFeed`) today,
the streaming tracker tomorrow. The :class:`LiveHub` consumes one feed, keeps the picture's clock, optionally
writes each batch to the store (a live run), and queues ready-to-send JSON messages per subscriber. Track
updates go to everyone logged in; an alert goes only to the subscribers the store clears for it, through
:meth:`Store.read_alerts`, which audits each delivery.

>>> import asyncio
>>> from centinela.server.sample import sample_outputs
>>> feed = ReplayFeed.from_outputs(sample_outputs(), "demo", speed=1e6, tick_s=0.001)
>>> batches = asyncio.run(_collect(feed))
>>> sum(len(b.tracks) for b in batches), sum(len(b.alerts) for b in batches)
(1300, 1)
"""
from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import AsyncIterable, AsyncIterator, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from centinela import model
from centinela.store import Store, User

log = logging.getLogger(__name__)

# Wall-clock seconds between two batches: the map moves once a second, like a radar display.
DEFAULT_TICK_S = 1.0
# Messages queued for one client before the oldest are dropped: about a minute of ticks. A client that far
# behind has lost its picture anyway; it reloads alerts over HTTP, so a dropped alert message is not lost.
SUBSCRIBER_QUEUE = 64
# Decimal places sent for positions: 1e-5 degrees is about 1 m, well under any track's sigma.
POSITION_DECIMALS = 5
LIVE_ENDPOINT = "WS /api/live"


@dataclass
class Batch:
    """What happened in the picture between the previous batch and sim time ``t``.

    ``tracks``: TRACK_COLUMNS (+ optional, + ``score`` when known) rows with previous t < row t <= ``t``.
    ``alerts``: ALERT_COLUMNS rows issued in that interval. Both belong to run ``run_id``.
    """

    t: float
    run_id: str
    tracks: pd.DataFrame = field(default_factory=lambda: model.empty_frame(model.TRACK_COLUMNS))
    alerts: pd.DataFrame = field(default_factory=lambda: model.empty_frame(model.ALERT_COLUMNS))


class ReplayFeed:
    """Replays stored results in time order, ``speed`` sim seconds per wall second, a batch every ``tick_s``.

    ``loop`` starts over at the end. ``start_s`` (default: the first track) is where the clock begins.
    """

    def __init__(self, tracks: pd.DataFrame, alerts: pd.DataFrame, run_id: str, *, speed: float = 60.0,
                 tick_s: float = DEFAULT_TICK_S, start_s: float | None = None, loop: bool = False):
        if speed <= 0 or tick_s <= 0:
            raise ValueError(f"speed and tick_s must be positive, got {speed} and {tick_s}")
        self.tracks = tracks.sort_values("t", kind="stable").reset_index(drop=True)
        self.alerts = alerts.sort_values("t_issued", kind="stable").reset_index(drop=True)
        self.run_id = run_id
        self.speed = float(speed)
        self.tick_s = float(tick_s)
        times = np.concatenate([self.tracks["t"].to_numpy(float), self.alerts["t_issued"].to_numpy(float)])
        self.t_first = float(times.min()) if len(times) else 0.0
        self.t_last = float(times.max()) if len(times) else 0.0
        self.start_s = self.t_first if start_s is None else float(start_s)
        self.loop = loop

    @classmethod
    def from_outputs(cls, outputs: model.Outputs, run_id: str, **kwargs) -> ReplayFeed:
        """A replay of ``outputs``, the tracks carrying their assessment ``score``."""
        scores = outputs.assessments.drop_duplicates("track_id", keep="last").set_index("track_id")["score"]
        tracks = outputs.tracks.copy()
        tracks["score"] = tracks["track_id"].map(scores).astype("float64")
        return cls(tracks, outputs.alerts, run_id, **kwargs)

    def __aiter__(self) -> AsyncIterator[Batch]:
        return self._batches()

    async def _batches(self) -> AsyncIterator[Batch]:
        t_track = self.tracks["t"].to_numpy(float)
        t_alert = self.alerts["t_issued"].to_numpy(float)
        while True:
            wall_start = time.monotonic()
            # The first batch is the picture at start_s; then one batch a tick, each at the end of its tick.
            sim_prev, sim_now, ticks = -np.inf, self.start_s, 0
            while True:
                # Rows with sim_prev < t <= sim_now, found by binary search over the sorted times.
                i0, i1 = np.searchsorted(t_track, [sim_prev, sim_now], side="right")
                j0, j1 = np.searchsorted(t_alert, [sim_prev, sim_now], side="right")
                yield Batch(sim_now, self.run_id, self.tracks.iloc[i0:i1], self.alerts.iloc[j0:j1])
                if sim_now >= self.t_last:
                    break
                ticks += 1
                # Sleep to the tick's wall deadline, so slow consumers do not stretch the replay.
                await asyncio.sleep(max(0.0, wall_start + ticks * self.tick_s - time.monotonic()))
                sim_prev, sim_now = sim_now, min(self.start_s + ticks * self.tick_s * self.speed, self.t_last)
            if not self.loop:
                return


@dataclass(eq=False)
class Subscriber:
    user: User
    queue: asyncio.Queue = field(default_factory=lambda: asyncio.Queue(SUBSCRIBER_QUEUE))
    dropped: int = 0

    def offer(self, message: str) -> None:
        """Queue a message, dropping the oldest when the client lags (see SUBSCRIBER_QUEUE)."""
        if self.queue.full():
            self.queue.get_nowait()
            self.dropped += 1
        self.queue.put_nowait(message)


def tracks_message(t: float, tracks: pd.DataFrame) -> str:
    """The JSON a client gets for one batch of track updates (columnar, positions rounded)."""
    columns = {
        "track_id": tracks["track_id"].astype(object).tolist(),
        "t": tracks["t"].round(2).tolist(),
        "lat": tracks["lat"].round(POSITION_DECIMALS).tolist(),
        "lon": tracks["lon"].round(POSITION_DECIMALS).tolist(),
    }
    for name in ("alt_m", "score"):
        if name in tracks.columns:
            values = tracks[name].astype("float64").round(3 if name == "score" else 0)
            columns[name] = [None if np.isnan(v) else v for v in values.tolist()]
    for name in ("callsign", "icao24", "squawk"):
        if name in tracks.columns:
            columns[name] = tracks[name].astype(object).where(tracks[name].notna(), None).tolist()
    return json.dumps({"type": "tracks", "t": t, "n": len(tracks), "columns": columns})


class LiveHub:
    """Consumes one feed; keeps ``now`` (the picture's sim time) and fans batches out to subscribers.

    With ``persist``, every batch is appended to the store under its run id and its alerts are dispatched
    before anyone is told about them (a live run): as the dispatch policy sends them over the ``units``
    register (default: the packaged one), each recipient with its marked copy, or to ``dispatch_to_units``
    when given (an override). A replay of stored results does not persist: its rows, recipients and copies
    are already in the store.
    """

    def __init__(self, store: Store, feed: AsyncIterator[Batch], *, speed: float | None = None,
                 persist: bool = False, dispatch_to_units: Sequence[str] = (), units: pd.DataFrame | None = None,
                 min_subscribers: int = 0):
        self.store = store
        self.min_subscribers = min_subscribers  # hold the feed until this many clients listen (tests, bench)
        self._subscribed = asyncio.Event()
        self.feed = feed
        self.speed = speed
        self.persist = persist
        self.dispatch_to_units = tuple(dispatch_to_units)
        self.units = units
        self.now: float | None = getattr(feed, "start_s", None)
        self.finished = False
        self.batches = 0
        self.subscribers: set[Subscriber] = set()

    def subscribe(self, user: User) -> Subscriber:
        sub = Subscriber(user)
        self.subscribers.add(sub)
        if self.finished:
            sub.offer(json.dumps({"type": "end", "t": self.now}))
        if len(self.subscribers) >= self.min_subscribers:
            self._subscribed.set()
        return sub

    def unsubscribe(self, sub: Subscriber) -> None:
        self.subscribers.discard(sub)

    async def run(self) -> None:
        """Consume the feed to its end (a replay) or forever (a live source)."""
        if len(self.subscribers) < self.min_subscribers:
            await self._subscribed.wait()
        try:
            async for batch in self.feed:
                await self.publish(batch)
        finally:
            self.finished = True
            for sub in list(self.subscribers):
                sub.offer(json.dumps({"type": "end", "t": self.now}))

    async def publish(self, batch: Batch) -> None:
        if self.persist and (len(batch.tracks) or len(batch.alerts)):
            await asyncio.to_thread(self.store.append, batch.run_id, tracks=batch.tracks.drop(
                columns=["score"], errors="ignore"), alerts=batch.alerts, **self._dispatching(batch.alerts))
        self.now = batch.t
        self.batches += 1
        message = tracks_message(batch.t, batch.tracks)
        for sub in list(self.subscribers):
            sub.offer(message)
        if len(batch.alerts):
            ids = [(batch.run_id, str(a)) for a in batch.alerts["alert_id"]]
            for sub in list(self.subscribers):
                visible = await asyncio.to_thread(self.store.read_alerts, sub.user, LIVE_ENDPOINT, alert_ids=ids)
                if len(visible):
                    sub.offer(json.dumps({"type": "alerts", "t": batch.t,
                                          "alerts": json.loads(visible.to_json(orient="records"))}))


    def _dispatching(self, alerts: pd.DataFrame) -> dict:
        """The store arguments that dispatch a batch's new alerts (see the class doc)."""
        if self.dispatch_to_units or alerts.empty:
            return {"dispatch_to_units": self.dispatch_to_units}
        from centinela.alerts.units import default_units
        from centinela.server.dispatching import plan_distribution

        if self.units is None:
            self.units = default_units()
        return plan_distribution(alerts, self.units).store_args()


async def tracker_feed(tracker, measurements: AsyncIterable[pd.DataFrame], run_id: str) -> AsyncIterator[Batch]:
    """A live feed: each time-ordered batch of measurements through the streaming tracker
    (:class:`centinela.track.Tracker`, duck-typed: anything with ``update(frame) -> track rows``).

    The tracker runs in a worker thread so the server keeps answering while it works. Serve it with
    ``create_app(store, feed=tracker_feed(...), persist_feed=True)`` after ``store.create_run(run_id)``.
    """
    async for batch in measurements:
        if len(batch) == 0:
            continue
        rows = await asyncio.to_thread(tracker.update, batch)
        yield Batch(float(batch["t"].max()), run_id, rows)


async def _collect(feed: AsyncIterator[Batch]) -> list[Batch]:
    return [batch async for batch in feed]
