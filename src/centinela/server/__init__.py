"""The operations centre: HTTP API, live stream and web map over the store.

``serve(db, replay=...)`` loads an analysed output (or analyses a scenario), replays it in time order and
serves the map at http://HOST:PORT/ and the API docs at /docs. Everything it serves ships in the package;
nothing is fetched from the internet.

The web stack (FastAPI, SQLAlchemy, pandas) is imported when first used, not with this package: the
``centinela`` command line imports it for every command.
"""
from __future__ import annotations

import importlib
import logging
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

from centinela.errors import InputError

if TYPE_CHECKING:
    import pandas as pd

    from centinela import model
    from centinela.store import Store

log = logging.getLogger(__name__)

_LAZY = {"create_app": "centinela.server.app", "Batch": "centinela.server.live", "LiveHub": "centinela.server.live",
         "ReplayFeed": "centinela.server.live", "tracker_feed": "centinela.server.live"}


def __getattr__(name: str) -> Any:
    """``from centinela.server import create_app`` and the live-feed classes, imported on first use."""
    if name not in _LAZY:
        raise AttributeError(f"module 'centinela.server' has no attribute {name!r}")
    return getattr(importlib.import_module(_LAZY[name]), name)

DEFAULT_DB = "centinela.db"
DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8000
DEFAULT_SPEED = 60.0
# The operations centre's unit in the packaged register: the dispatch policy names it for every alert in the
# VRAEM, so the centre's users belong to it (make demo's user does).
DEFAULT_DISPATCH_UNIT = "VRAEM-OPS"
# On Ctrl-C, open map pages (their live streams) get this long before the server stops anyway.
GRACEFUL_SHUTDOWN_S = 3


def load_replay(store: Store, source: str | Path | None, *, sample: bool = False,
                dispatch_to_units: tuple[str, ...] = (), units: pd.DataFrame | None = None
                ) -> tuple[model.Outputs, str]:
    """Load what a replay will show into ``store``: an outputs folder, a scenario folder (analysed first into
    a temporary folder) or, with ``sample``, the hand-made sample picture. Returns the outputs and run id.

    The alerts go to the recipients, with the marked copies, that ``centinela dispatch`` recorded in the
    outputs folder; without that register, where the dispatch policy sends them over ``units`` (default: the
    packaged register); with ``dispatch_to_units``, to those units instead (centinela.server.dispatching)."""
    if sample:
        from centinela.server.sample import sample_outputs

        outputs, run_id, origin = sample_outputs(), "replay:sample", "sample"
    else:
        path = Path(str(source))
        if (path / "tracks.parquet").is_file():
            from centinela.io.outputs import read_outputs

            outputs = read_outputs(path)
        elif (path / "sensors.toml").is_file():
            from centinela.pipeline import analyze

            log.info("analysing scenario %s before the replay", path)
            outputs = analyze(path, Path(tempfile.mkdtemp(prefix="centinela-replay-")))
        else:
            raise InputError(path, "expected an outputs folder (with tracks.parquet) or a scenario folder "
                                   "(with sensors.toml)")
        run_id, origin = f"replay:{path.resolve().name}", str(path)
    store.load_outputs(outputs, run_id, kind="replay", source=origin, replace=True,
                       **_distribution(outputs, None if sample else Path(str(source)), dispatch_to_units, units))
    return outputs, run_id


def _distribution(outputs: model.Outputs, folder: Path | None, dispatch_to_units: tuple[str, ...],
                  units: pd.DataFrame | None) -> dict[str, Any]:
    """The store arguments that dispatch a replay's alerts: the override, the folder's register or the policy."""
    if dispatch_to_units:
        return {"dispatch_to_units": tuple(dispatch_to_units)}
    from centinela.alerts.units import default_units
    from centinela.server.dispatching import plan_distribution, read_register

    register = read_register(folder) if folder is not None else None
    if register is not None:
        log.info("dispatching the replay as %s recorded it", folder)
        return register.store_args()
    return plan_distribution(outputs.alerts, default_units() if units is None else units).store_args()


def replay_start_s(outputs: model.Outputs, start: str | None) -> float | None:
    """Epoch seconds for ``start``: ``HH:MM`` (UTC, on the day of the first track update) or an ISO 8601 time.

    >>> from centinela.server.sample import sample_outputs
    >>> replay_start_s(sample_outputs(), "10:30") - 1780308000.0
    1800.0
    """
    import pandas as pd

    if start is None:
        return None
    if len(start) <= 5 and ":" in start:
        first = pd.Timestamp(float(outputs.tracks["t"].min()), unit="s", tz="UTC").normalize()
        hours, minutes = (int(v) for v in start.split(":"))
        return (first + pd.Timedelta(hours=hours, minutes=minutes)).timestamp()
    when = pd.Timestamp(start)
    return (when if when.tzinfo else when.tz_localize("UTC")).timestamp()


def serve(db: str | Path = DEFAULT_DB, *, replay: str | Path | None = None, sample: bool = False,
          speed: float = DEFAULT_SPEED, start: str | None = None, loop: bool = False, host: str = DEFAULT_HOST,
          port: int = DEFAULT_PORT, dispatch_to_units: tuple[str, ...] = (),
          secure_cookies: bool = False, signing_key: str | Path | None = None,
          units_path: str | Path | None = None) -> None:
    """Run the operations centre until interrupted (uvicorn). See ``centinela serve --help``.

    ``signing_key``: the Ed25519 private key (PEM) that signs exports and audit checkpoints; ``units_path``: the
    units register (default: the packaged one): the dispatch policy's recipients, and the clearances and
    approvers that govern widening. ``dispatch_to_units`` overrides the dispatch (see :func:`load_replay`).
    """
    import uvicorn

    from centinela.server.app import create_app
    from centinela.server.dispatching import units_register
    from centinela.server.live import ReplayFeed
    from centinela.store import Store

    store = Store(db)
    # the rule of `centinela dispatch`: --units, else the replayed scenario folder's own units.toml, else packaged
    units, approvers, register = units_register(units_path, None if sample else replay)
    log.info(register.describe())
    feed = None
    if replay is not None or sample:
        outputs, run_id = load_replay(store, replay, sample=sample, dispatch_to_units=dispatch_to_units, units=units)
        feed = ReplayFeed.from_outputs(outputs, run_id, speed=speed, loop=loop,
                                       start_s=replay_start_s(outputs, start))
    app = create_app(store, feed=feed, speed=speed if feed else None, secure_cookies=secure_cookies,
                     signing_key=signing_key, units=units, approvers=approvers)
    uvicorn.run(app, host=host, port=port, log_level="info", timeout_graceful_shutdown=GRACEFUL_SHUTDOWN_S)


__all__ = ["DEFAULT_DISPATCH_UNIT", "Batch", "LiveHub", "ReplayFeed", "create_app", "load_replay", "serve",
           "tracker_feed"]
