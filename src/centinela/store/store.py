"""The store: analysis and live results in SQLite (one file, WAL) or PostgreSQL, behind one class.

``Store(url)`` takes a SQLAlchemy URL (``sqlite:///path.db``, ``postgresql+psycopg://user@host:port/db``) or a
plain file path (SQLite). Loads take the frames of :class:`centinela.model.Outputs`; queries give DataFrames
with the columns of :mod:`centinela.model` plus ``run_id``.

Alerts are need-to-know: :meth:`Store.read_alerts` is the only way to their contents, it returns only the
alerts dispatched to the reading user or the user's unit, and it writes one audit row per alert it returns,
in the same transaction.

>>> import tempfile, pandas as pd
>>> from centinela.model import Outputs, conform, TRACK_COLUMNS
>>> store = Store(tempfile.mkdtemp() + "/c.db")
>>> tracks = conform(pd.DataFrame({"t": [0.0, 10.0], "track_id": ["T1", "T1"], "lat": [-12.5, -12.51],
...                                "lon": [-73.9, -73.89]}), TRACK_COLUMNS)
>>> store.load_outputs(Outputs(tracks=tracks), run_id="day1")
>>> store.tracks(0.0, 5.0)[["run_id", "track_id", "lat"]].values.tolist()
[['day1', 'T1', -12.5]]
"""
from __future__ import annotations

import json
import math
import time
from collections.abc import Iterable, Sequence
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import sqlalchemy as sa

from centinela import model
from centinela.store import schema as s
from centinela.store.users import (
    ROLES,
    SCRYPT_N,
    User,
    hash_password,
    new_token,
    token_digest,
    verify_password,
)

# One operations-centre shift: a login lasts this long.
SESSION_TTL_S = 12 * 3600.0
# SQLite waits this long for a writer (the live feed) before failing a read with "database is locked".
SQLITE_BUSY_TIMEOUT_MS = 5000

# (lon_min, lat_min, lon_max, lat_max), WGS84 degrees
BBox = tuple[float, float, float, float]

TRACK_FIELDS = list(model.TRACK_COLUMNS) + list(model.TRACK_OPTIONAL_COLUMNS)


def _engine(url: str | Path) -> sa.Engine:
    text = str(url)
    if "://" not in text:
        text = f"sqlite:///{Path(text).expanduser().resolve()}"
    engine = sa.create_engine(text, future=True)
    if engine.dialect.name == "sqlite":
        @sa.event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_connection, _record):
            cursor = dbapi_connection.cursor()
            # WAL lets the map read while the live feed writes; NORMAL sync is safe with WAL (no corruption,
            # at worst the last commit is lost on power failure).
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
            cursor.close()
    return engine


def _json_default(value: Any) -> Any:
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, np.generic):
        return value.item()
    if value is pd.NA:
        return None
    raise TypeError(f"cannot store {type(value).__name__} as JSON")


def _to_json(value: Any) -> str | None:
    return None if value is None else json.dumps(value, default=_json_default, allow_nan=False)


def _from_json(text: str | None) -> Any:
    return None if text is None else json.loads(text)


def _is_missing(value: Any) -> bool:
    return value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value))


def _id_list(value: Any) -> list[str]:
    """A ``track_ids`` cell (list, array, JSON text or one id) as a list of strings."""
    if isinstance(value, np.ndarray):
        value = value.tolist()
    if isinstance(value, (list, tuple)):
        return [str(v) for v in value]
    if _is_missing(value):
        return []
    if isinstance(value, str) and value.startswith("["):
        return [str(v) for v in json.loads(value)]
    return [str(value)]


def _records(df: pd.DataFrame) -> list[dict[str, Any]]:
    """Rows as dicts for executemany, with NaN/NA as None (SQLite and PostgreSQL treat NaN differently)."""
    if df.empty:
        return []
    plain = df.astype(object)
    return plain.where(plain.notna(), None).to_dict("records")


def _column_values(column: pd.Series) -> list[Any]:
    """One column as Python values with None for missing ones, converted a whole column at a time."""
    if column.dtype.kind == "f":
        values = column.to_numpy(dtype=float)
        return np.where(np.isnan(values), None, values).tolist()
    plain = column.astype(object)
    return plain.where(plain.notna(), None).tolist()


def _bulk_insert(conn: sa.Connection, table: sa.Table, frame: pd.DataFrame) -> None:
    """Insert a large frame (columns named as the table's) in the connection's transaction, by the fastest
    path each database has: PostgreSQL's COPY, SQLite's executemany on positional rows. This skips
    SQLAlchemy's per-row parameter handling, which costs more than the database's own work here."""
    names = ", ".join(frame.columns)
    if conn.dialect.name == "postgresql":
        with (conn.connection.driver_connection.cursor() as cursor,
              cursor.copy(f"COPY {table.name} ({names}) FROM STDIN (FORMAT CSV, NULL '')") as copy):
            copy.write(frame.to_csv(index=False, header=False, na_rep=""))
        return
    rows = list(zip(*(_column_values(frame[c]) for c in frame.columns)))
    conn.exec_driver_sql(f"INSERT INTO {table.name} ({names}) VALUES ({', '.join('?' * len(frame.columns))})", rows)


def _extras(df: pd.DataFrame, known: Iterable[str]) -> list[str | None]:
    """The columns a stage added beyond the contract, one JSON object per row (None when there are none)."""
    extra = [c for c in df.columns if c not in set(known)]
    if not extra:
        return [None] * len(df)
    rows = df[extra].astype(object)
    rows = rows.where(rows.notna(), None)
    return [_to_json(r) for r in rows.to_dict("records")]


@lru_cache(maxsize=1)
def _dummy_hash() -> str:
    return hash_password("not a password")


def _float_or_none(value: Any) -> float | None:
    return None if _is_missing(value) else float(value)


class Store:
    """Analysis results, users, alert dispatch and audit in one database (see the module doc)."""

    def __init__(self, url: str | Path):
        self.engine = _engine(url)
        s.migrate(self.engine)

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    def close(self) -> None:
        self.engine.dispose()

    # --- runs -------------------------------------------------------------------------------------------

    def load_outputs(self, outputs: model.Outputs, run_id: str, *, kind: str = "analyze", source: str | None = None,
                     replace: bool = False, dispatch_to_units: Sequence[str] = ()) -> None:
        """Store every frame of ``outputs`` as run ``run_id``; dispatch its alerts to ``dispatch_to_units``.

        A run id already in the store raises ValueError unless ``replace`` (its rows, recipients included,
        are then replaced; the audit is kept).
        """
        with self.engine.begin() as conn:
            existing = conn.execute(sa.select(s.runs.c.id).where(s.runs.c.run_id == run_id)).scalar()
            if existing is not None:
                if not replace:
                    raise ValueError(f"run {run_id!r} is already in the store (use replace=True to reload it)")
                self._delete_run(conn, existing)
            conn.execute(s.runs.insert().values(run_id=run_id, kind=kind, source=source, created_at=time.time(),
                                                stages=_to_json(outputs.stages)))
        self.append(run_id, tracks=outputs.tracks, events=outputs.events, airstrips=outputs.airstrips,
                    assessments=outputs.assessments, alerts=outputs.alerts, dispatch_to_units=dispatch_to_units)

    def create_run(self, run_id: str, *, kind: str = "live", source: str | None = None) -> None:
        """Open an empty run for results that arrive in batches (a live feed); no-op when it exists."""
        with self.engine.begin() as conn:
            if conn.execute(sa.select(s.runs.c.id).where(s.runs.c.run_id == run_id)).scalar() is None:
                conn.execute(s.runs.insert().values(run_id=run_id, kind=kind, source=source, created_at=time.time()))

    def append(self, run_id: str, *, tracks: pd.DataFrame | None = None, events: pd.DataFrame | None = None,
               airstrips: pd.DataFrame | None = None, assessments: pd.DataFrame | None = None,
               alerts: pd.DataFrame | None = None, dispatch_to_units: Sequence[str] = ()) -> list[int]:
        """Add rows to an existing run in one transaction; return the keys of the alerts added.

        Airstrips and assessments of the run are upserted by id (a live catalogue or score changes).
        """
        alert_keys: list[int] = []
        with self.engine.begin() as conn:
            run_key = self._run_key(conn, run_id)
            if tracks is not None and not tracks.empty:
                self._insert_tracks(conn, run_key, tracks)
            if events is not None and not events.empty:
                self._insert_events(conn, run_key, events)
            if airstrips is not None and not airstrips.empty:
                self._upsert_airstrips(conn, run_key, airstrips)
            if assessments is not None and not assessments.empty:
                self._upsert_assessments(conn, run_key, assessments)
            if alerts is not None and not alerts.empty:
                alert_keys = self._insert_alerts(conn, run_key, alerts)
                now = time.time()
                rows = [{"alert_key": k, "unit": u, "dispatched_at": now, "dispatched_by": "load"}
                        for k in alert_keys for u in dispatch_to_units]
                if rows:
                    conn.execute(s.alert_recipients.insert(), rows)
        return alert_keys

    def runs(self) -> pd.DataFrame:
        """One row per run: run_id, kind, source, created_at, stages (dict), tracks (number of updates)."""
        n_tracks = (sa.select(s.tracks.c.run_key, sa.func.count().label("tracks"))
                    .group_by(s.tracks.c.run_key).subquery())
        query = (sa.select(s.runs.c.run_id, s.runs.c.kind, s.runs.c.source, s.runs.c.created_at, s.runs.c.stages,
                           sa.func.coalesce(n_tracks.c.tracks, 0).label("tracks"))
                 .select_from(s.runs.outerjoin(n_tracks, n_tracks.c.run_key == s.runs.c.id))
                 .order_by(s.runs.c.id))
        with self.engine.connect() as conn:
            df = pd.DataFrame(conn.execute(query).mappings().all(),
                              columns=["run_id", "kind", "source", "created_at", "stages", "tracks"])
        df["stages"] = df["stages"].map(_from_json)
        return df

    def delete_run(self, run_id: str) -> None:
        with self.engine.begin() as conn:
            self._delete_run(conn, self._run_key(conn, run_id))

    def time_span(self) -> tuple[float, float] | None:
        """(first, last) track time over all runs, or None when there are no tracks."""
        with self.engine.connect() as conn:
            lo, hi = conn.execute(sa.select(sa.func.min(s.tracks.c.t), sa.func.max(s.tracks.c.t))).one()
        return None if lo is None else (float(lo), float(hi))

    # --- air picture ------------------------------------------------------------------------------------

    def tracks(self, t0_s: float, t1_s: float, bbox: BBox | None = None, *, run_id: str | None = None,
               track_ids: Sequence[str] | None = None) -> pd.DataFrame:
        """Track updates with t0_s <= t <= t1_s (inside ``bbox`` when given), in time order, with ``score``.

        Columns: run_id, the TRACK_COLUMNS and TRACK_OPTIONAL_COLUMNS, and ``score`` (the track's assessment,
        NaN when it has none).
        """
        tr, asm = s.tracks, s.assessments
        query = (sa.select(tr.c.run_key, *[tr.c[c] for c in TRACK_FIELDS], asm.c.score)
                 .select_from(tr.outerjoin(asm, sa.and_(asm.c.run_key == tr.c.run_key,
                                                        asm.c.track_id == tr.c.track_id)))
                 .where(tr.c.t.between(t0_s, t1_s)))
        if bbox is not None:
            lon_min, lat_min, lon_max, lat_max = bbox
            query = query.where(tr.c.lat.between(lat_min, lat_max), tr.c.lon.between(lon_min, lon_max))
        if track_ids is not None:
            query = query.where(tr.c.track_id.in_(list(track_ids)))
        return self._track_frame(self._select(query, run_id, tr.c.run_key).order_by(tr.c.t, tr.c.track_id))

    def track_history(self, track_id: str, *, run_id: str | None = None) -> pd.DataFrame:
        """Every update of ``track_id`` and of the tracks linked to it by ``flight_id``, in time order.

        Without ``run_id``, the latest run that holds the track. Same columns as :meth:`tracks`.
        """
        tr, asm = s.tracks, s.assessments
        with self.engine.connect() as conn:
            run_key = self._latest_run_with(conn, s.tracks, track_id, run_id)
            if run_key is None:
                return self._track_frame(None)
            flight_ids = conn.execute(sa.select(tr.c.flight_id).distinct().where(
                tr.c.run_key == run_key, tr.c.track_id == track_id, tr.c.flight_id.is_not(None))).scalars().all()
        same_flight = tr.c.track_id == track_id
        if flight_ids:
            same_flight = sa.or_(same_flight, tr.c.flight_id.in_(flight_ids))
        query = (sa.select(tr.c.run_key, *[tr.c[c] for c in TRACK_FIELDS], asm.c.score)
                 .select_from(tr.outerjoin(asm, sa.and_(asm.c.run_key == tr.c.run_key,
                                                        asm.c.track_id == tr.c.track_id)))
                 .where(tr.c.run_key == run_key, same_flight).order_by(tr.c.t))
        return self._track_frame(query)

    def events(self, t0_s: float | None = None, t1_s: float | None = None, bbox: BBox | None = None, *,
               kinds: Sequence[str] | None = None, run_id: str | None = None, track_ids: Sequence[str] | None = None,
               airstrip_id: str | None = None) -> pd.DataFrame:
        """Events (EVENT_COLUMNS + run_id, extra fields merged back as columns), in time order."""
        ev = s.events
        query = sa.select(ev)
        if t0_s is not None:
            query = query.where(ev.c.t >= t0_s)
        if t1_s is not None:
            query = query.where(ev.c.t <= t1_s)
        if bbox is not None:
            lon_min, lat_min, lon_max, lat_max = bbox
            query = query.where(ev.c.lat.between(lat_min, lat_max), ev.c.lon.between(lon_min, lon_max))
        if kinds is not None:
            query = query.where(ev.c.kind.in_(list(kinds)))
        if airstrip_id is not None:
            query = query.where(ev.c.airstrip_id == airstrip_id)
        if track_ids is not None:
            linked = sa.select(s.event_tracks.c.event_key).where(s.event_tracks.c.track_id.in_(list(track_ids)))
            query = query.where(ev.c.id.in_(linked))
        query = self._select(query, run_id, ev.c.run_key).order_by(ev.c.t, ev.c.id)
        with self.engine.connect() as conn:
            rows = conn.execute(query).mappings().all()
            run_names = self._run_names(conn)
        df = pd.DataFrame(rows, columns=[c.name for c in ev.columns])
        df["track_ids"] = df["track_ids"].map(_from_json)
        out = self._with_extras(df, model.EVENT_COLUMNS)
        out.insert(0, "run_id", df["run_key"].map(run_names).astype("string"))
        return out

    def airstrips(self, *, run_id: str | None = None, seen_before_s: float | None = None) -> pd.DataFrame:
        """The airstrip catalogue (AIRSTRIP_COLUMNS + run_id).

        Without ``run_id``, each strip as the latest run that has it knows it (the catalogue accumulates from
        run to run). ``seen_before_s`` keeps strips first seen by then (a replay must not show the future).
        """
        ap = s.airstrips
        query = self._select(sa.select(ap), run_id, ap.c.run_key)
        if seen_before_s is not None:
            query = query.where(sa.or_(ap.c.first_seen.is_(None), ap.c.first_seen <= seen_before_s))
        with self.engine.connect() as conn:
            rows = conn.execute(query.order_by(ap.c.run_key)).mappings().all()
            run_names = self._run_names(conn)
        df = pd.DataFrame(rows, columns=[c.name for c in ap.columns])
        df = df.drop_duplicates("id", keep="last").sort_values("id", kind="stable").reset_index(drop=True)
        out = self._with_extras(df, model.AIRSTRIP_COLUMNS)
        out.insert(0, "run_id", df["run_key"].map(run_names).astype("string"))
        return out

    def assessments(self, *, run_id: str | None = None, track_ids: Sequence[str] | None = None) -> pd.DataFrame:
        """Scores (ASSESSMENT_COLUMNS + run_id + any extra columns the assessment wrote)."""
        asm = s.assessments
        query = self._select(sa.select(asm), run_id, asm.c.run_key)
        if track_ids is not None:
            query = query.where(asm.c.track_id.in_(list(track_ids)))
        with self.engine.connect() as conn:
            rows = conn.execute(query.order_by(asm.c.run_key, asm.c.track_id)).mappings().all()
            run_names = self._run_names(conn)
        df = pd.DataFrame(rows, columns=[c.name for c in asm.columns])
        out = self._with_extras(df, model.ASSESSMENT_COLUMNS)
        out.insert(0, "run_id", df["run_key"].map(run_names).astype("string"))
        return out

    # --- users and sessions -----------------------------------------------------------------------------

    def add_user(self, username: str, password: str, role: str, unit: str, *, scrypt_n: int = SCRYPT_N) -> User:
        """Create a user; ValueError for an unknown role, an empty name or unit, or a name already taken."""
        if role not in ROLES:
            raise ValueError(f"role must be one of {', '.join(ROLES)}, got {role!r}")
        if not username.strip() or not unit.strip():
            raise ValueError("username and unit must not be empty")
        with self.engine.begin() as conn:
            if conn.execute(sa.select(s.users.c.id).where(s.users.c.username == username)).scalar() is not None:
                raise ValueError(f"user {username!r} already exists")
            key = conn.execute(s.users.insert().values(
                username=username, password_hash=hash_password(password, scrypt_n=scrypt_n), role=role, unit=unit,
                active=True, created_at=time.time())).inserted_primary_key[0]
        return User(int(key), username, role, unit)

    def users(self) -> pd.DataFrame:
        """username, role, unit, active, created_at (never the password hashes)."""
        u = s.users
        query = sa.select(u.c.username, u.c.role, u.c.unit, u.c.active, u.c.created_at).order_by(u.c.username)
        with self.engine.connect() as conn:
            return pd.DataFrame(conn.execute(query).mappings().all(),
                                columns=["username", "role", "unit", "active", "created_at"])

    def set_active(self, username: str, active: bool) -> None:
        """Disable (or re-enable) a user; disabling ends the user's sessions."""
        with self.engine.begin() as conn:
            key = self._user_key(conn, username)
            conn.execute(s.users.update().where(s.users.c.id == key).values(active=active))
            if not active:
                conn.execute(s.sessions.delete().where(s.sessions.c.user_id == key))

    def login(self, username: str, password: str, *, ttl_s: float = SESSION_TTL_S) -> tuple[str, User] | None:
        """A new session token and the user, or None for a wrong name or password or a disabled user."""
        u = s.users
        with self.engine.connect() as conn:
            row = conn.execute(sa.select(u).where(u.c.username == username)).mappings().first()
        if row is None:
            # Spend the same time as for a real user, so response times do not reveal which names exist.
            verify_password(password, _dummy_hash())
            return None
        if not row["active"] or not verify_password(password, row["password_hash"]):
            return None
        token, digest = new_token()
        now = time.time()
        with self.engine.begin() as conn:
            conn.execute(s.sessions.delete().where(s.sessions.c.expires_at < now))
            conn.execute(s.sessions.insert().values(token_sha256=digest, user_id=row["id"], created_at=now,
                                                    expires_at=now + ttl_s))
        return token, User(int(row["id"]), row["username"], row["role"], row["unit"])

    def user_for_token(self, token: str) -> User | None:
        """The user of a live session token, or None."""
        u, se = s.users, s.sessions
        query = (sa.select(u.c.id, u.c.username, u.c.role, u.c.unit)
                 .select_from(se.join(u, u.c.id == se.c.user_id))
                 .where(se.c.token_sha256 == token_digest(token), se.c.expires_at > time.time(), u.c.active))
        with self.engine.connect() as conn:
            row = conn.execute(query).first()
        return None if row is None else User(int(row.id), row.username, row.role, row.unit)

    def logout(self, token: str) -> None:
        with self.engine.begin() as conn:
            conn.execute(s.sessions.delete().where(s.sessions.c.token_sha256 == token_digest(token)))

    # --- alerts: dispatch, need to know, audit ----------------------------------------------------------

    def dispatch(self, run_id: str, alert_id: str, *, units: Sequence[str] = (), usernames: Sequence[str] = (),
                 by: str | None = None) -> None:
        """Make an alert readable by every member of ``units`` and by the users ``usernames``."""
        with self.engine.begin() as conn:
            key = self._alert_key(conn, run_id, alert_id)
            now = time.time()
            rows = [{"alert_key": key, "unit": unit, "user_id": None, "dispatched_at": now, "dispatched_by": by}
                    for unit in units]
            rows += [{"alert_key": key, "unit": None, "user_id": self._user_key(conn, name), "dispatched_at": now,
                      "dispatched_by": by} for name in usernames]
            if rows:
                conn.execute(s.alert_recipients.insert(), rows)

    def recipients(self, run_id: str, alert_id: str) -> pd.DataFrame:
        """Who an alert was dispatched to: unit, username (one of them null), dispatched_at, dispatched_by."""
        r, u = s.alert_recipients, s.users
        with self.engine.connect() as conn:
            key = self._alert_key(conn, run_id, alert_id)
            query = (sa.select(r.c.unit, u.c.username, r.c.dispatched_at, r.c.dispatched_by)
                     .select_from(r.outerjoin(u, u.c.id == r.c.user_id)).where(r.c.alert_key == key).order_by(r.c.id))
            return pd.DataFrame(conn.execute(query).mappings().all(),
                                columns=["unit", "username", "dispatched_at", "dispatched_by"])

    def read_alerts(self, user: User, endpoint: str, *, t0_s: float | None = None, t1_s: float | None = None,
                    run_id: str | None = None, alert_ids: Sequence[tuple[str, str]] | None = None,
                    track_ids: Sequence[str] | None = None) -> pd.DataFrame:
        """The alerts ``user`` is cleared for, and an audit row (user, time, alert, ``endpoint``) for each.

        Filters: issued within [t0_s, t1_s], of run ``run_id``, among ``alert_ids`` ((run_id, alert_id)
        pairs), or about one of ``track_ids``. Columns: run_id, ALERT_COLUMNS, any extra fields, in order of
        issue.
        """
        a, r = s.alerts, s.alert_recipients
        cleared = sa.select(r.c.alert_key).where(sa.or_(r.c.user_id == user.id, r.c.unit == user.unit))
        query = sa.select(a, s.runs.c.run_id).select_from(a.join(s.runs, s.runs.c.id == a.c.run_key)).where(
            a.c.id.in_(cleared))
        if t0_s is not None:
            query = query.where(a.c.t_issued >= t0_s)
        if t1_s is not None:
            query = query.where(a.c.t_issued <= t1_s)
        if run_id is not None:
            query = query.where(s.runs.c.run_id == run_id)
        if alert_ids is not None:
            pairs = list(alert_ids)
            if not pairs:
                return self._alert_frame([])
            query = query.where(sa.tuple_(s.runs.c.run_id, a.c.alert_id).in_(pairs))
        if track_ids is not None:
            linked = sa.select(s.alert_tracks.c.alert_key).where(s.alert_tracks.c.track_id.in_(list(track_ids)))
            query = query.where(a.c.id.in_(linked))
        query = query.order_by(a.c.t_issued, a.c.id)
        with self.engine.begin() as conn:
            rows = conn.execute(query).mappings().all()
            if rows:
                now = time.time()
                conn.execute(s.audit.insert(), [
                    {"t": now, "username": user.username, "unit": user.unit, "run_id": row["run_id"],
                     "alert_id": row["alert_id"], "alert_key": row["id"], "endpoint": endpoint} for row in rows])
        return self._alert_frame(rows)

    def audit_log(self, *, reader: User | None = None, run_id: str | None = None, alert_id: str | None = None,
                  since_s: float | None = None) -> pd.DataFrame:
        """Audit rows (t, username, unit, run_id, alert_id, endpoint), oldest first.

        With ``reader``, only the rows about alerts that ``reader`` is cleared for (an analyst sees who else
        read the alerts of the unit, not the rest).
        """
        au, r = s.audit, s.alert_recipients
        query = sa.select(au.c.t, au.c.username, au.c.unit, au.c.run_id, au.c.alert_id, au.c.endpoint)
        if reader is not None:
            cleared = (sa.select(s.runs.c.run_id, s.alerts.c.alert_id)
                       .select_from(s.alerts.join(s.runs, s.runs.c.id == s.alerts.c.run_key)
                                    .join(r, r.c.alert_key == s.alerts.c.id))
                       .where(sa.or_(r.c.user_id == reader.id, r.c.unit == reader.unit)))
            query = query.where(sa.tuple_(au.c.run_id, au.c.alert_id).in_(cleared))
        if run_id is not None:
            query = query.where(au.c.run_id == run_id)
        if alert_id is not None:
            query = query.where(au.c.alert_id == alert_id)
        if since_s is not None:
            query = query.where(au.c.t >= since_s)
        with self.engine.connect() as conn:
            rows = conn.execute(query.order_by(au.c.id)).mappings().all()
        return pd.DataFrame(rows, columns=["t", "username", "unit", "run_id", "alert_id", "endpoint"])

    # --- internals --------------------------------------------------------------------------------------

    def _select(self, query: sa.Select, run_id: str | None, run_column: sa.Column) -> sa.Select:
        if run_id is None:
            return query
        return query.where(run_column == sa.select(s.runs.c.id).where(s.runs.c.run_id == run_id).scalar_subquery())

    @staticmethod
    def _run_key(conn: sa.Connection, run_id: str) -> int:
        key = conn.execute(sa.select(s.runs.c.id).where(s.runs.c.run_id == run_id)).scalar()
        if key is None:
            raise KeyError(f"no run {run_id!r} in the store")
        return int(key)

    @staticmethod
    def _run_names(conn: sa.Connection) -> dict[int, str]:
        return {int(k): name for k, name in conn.execute(sa.select(s.runs.c.id, s.runs.c.run_id))}

    @staticmethod
    def _user_key(conn: sa.Connection, username: str) -> int:
        key = conn.execute(sa.select(s.users.c.id).where(s.users.c.username == username)).scalar()
        if key is None:
            raise KeyError(f"no user {username!r}")
        return int(key)

    def _alert_key(self, conn: sa.Connection, run_id: str, alert_id: str) -> int:
        key = conn.execute(sa.select(s.alerts.c.id).where(
            s.alerts.c.run_key == self._run_key(conn, run_id), s.alerts.c.alert_id == alert_id)).scalar()
        if key is None:
            raise KeyError(f"no alert {alert_id!r} in run {run_id!r}")
        return int(key)

    @staticmethod
    def _latest_run_with(conn: sa.Connection, table: sa.Table, track_id: str, run_id: str | None) -> int | None:
        query = sa.select(sa.func.max(table.c.run_key)).where(table.c.track_id == track_id)
        if run_id is not None:
            query = query.where(table.c.run_key == sa.select(s.runs.c.id).where(
                s.runs.c.run_id == run_id).scalar_subquery())
        return conn.execute(query).scalar()

    @staticmethod
    def _delete_run(conn: sa.Connection, run_key: int) -> None:
        # Explicit, child tables first: SQLite enforces ON DELETE CASCADE only with foreign_keys=ON, and a
        # PostgreSQL cascade through millions of track rows is no faster than this.
        alert_keys = sa.select(s.alerts.c.id).where(s.alerts.c.run_key == run_key)
        event_keys = sa.select(s.events.c.id).where(s.events.c.run_key == run_key)
        conn.execute(s.alert_recipients.delete().where(s.alert_recipients.c.alert_key.in_(alert_keys)))
        conn.execute(s.alert_tracks.delete().where(s.alert_tracks.c.alert_key.in_(alert_keys)))
        conn.execute(s.event_tracks.delete().where(s.event_tracks.c.event_key.in_(event_keys)))
        for table in (s.alerts, s.events, s.tracks, s.airstrips, s.assessments):
            conn.execute(table.delete().where(table.c.run_key == run_key))
        conn.execute(s.runs.delete().where(s.runs.c.id == run_key))

    @staticmethod
    def _insert_tracks(conn: sa.Connection, run_key: int, tracks: pd.DataFrame) -> None:
        frame = model.conform(tracks, model.TRACK_COLUMNS, model.TRACK_OPTIONAL_COLUMNS)
        frame = frame.reindex(columns=TRACK_FIELDS)
        frame.insert(0, "run_key", run_key)
        _bulk_insert(conn, s.tracks, frame)

    @staticmethod
    def _insert_events(conn: sa.Connection, run_key: int, events: pd.DataFrame) -> None:
        frame = model.conform(events, model.EVENT_COLUMNS)
        ids = [_id_list(v) for v in frame["track_ids"]]
        rows = frame[[c for c in model.EVENT_COLUMNS if c != "track_ids"]].copy()
        rows.insert(0, "run_key", run_key)
        rows["track_ids"] = [_to_json(v) for v in ids]
        rows["extra"] = _extras(frame, model.EVENT_COLUMNS)
        keys = conn.execute(s.events.insert().returning(s.events.c.id, sort_by_parameter_order=True),
                            _records(rows)).scalars().all()
        links = [{"event_key": k, "track_id": t} for k, tids in zip(keys, ids) for t in tids]
        if links:
            conn.execute(s.event_tracks.insert(), links)

    @staticmethod
    def _upsert_airstrips(conn: sa.Connection, run_key: int, airstrips: pd.DataFrame) -> None:
        frame = model.conform(airstrips, model.AIRSTRIP_COLUMNS)
        rows = frame[list(model.AIRSTRIP_COLUMNS)].copy()
        rows.insert(0, "run_key", run_key)
        rows["extra"] = _extras(frame, model.AIRSTRIP_COLUMNS)
        conn.execute(s.airstrips.delete().where(s.airstrips.c.run_key == run_key,
                                                s.airstrips.c.id.in_(rows["id"].tolist())))
        conn.execute(s.airstrips.insert(), _records(rows))

    @staticmethod
    def _upsert_assessments(conn: sa.Connection, run_key: int, assessments: pd.DataFrame) -> None:
        frame = model.conform(assessments, model.ASSESSMENT_COLUMNS)
        rows = frame[list(model.ASSESSMENT_COLUMNS)].copy()
        rows.insert(0, "run_key", run_key)
        rows["extra"] = _extras(frame, model.ASSESSMENT_COLUMNS)
        conn.execute(s.assessments.delete().where(s.assessments.c.run_key == run_key,
                                                  s.assessments.c.track_id.in_(rows["track_id"].tolist())))
        conn.execute(s.assessments.insert(), _records(rows))

    @staticmethod
    def _insert_alerts(conn: sa.Connection, run_key: int, alerts: pd.DataFrame) -> list[int]:
        frame = model.conform(alerts, model.ALERT_COLUMNS)
        ids = [_id_list(v) for v in frame["track_ids"]]
        sites = [v if isinstance(v, dict) else {} for v in frame["predicted_site"]]
        rows = [{
            "run_key": run_key, "alert_id": str(alert_id), "track_ids": _to_json(tids),
            "score": float(score), "t_issued": float(t_issued),
            "indicators": None if _is_missing(indicators) else _to_json(indicators),
            "site_lat": _float_or_none(site.get("lat")), "site_lon": _float_or_none(site.get("lon")),
            "site_airstrip_id": None if _is_missing(site.get("airstrip_id")) else str(site["airstrip_id"]),
            "eta": _float_or_none(eta), "eta_window_s": _float_or_none(window), "extra": extra,
        } for alert_id, tids, score, t_issued, indicators, site, eta, window, extra in zip(
            frame["alert_id"], ids, frame["score"], frame["t_issued"], frame["indicators"], sites, frame["eta"],
            frame["eta_window_s"], _extras(frame, model.ALERT_COLUMNS))]
        keys = conn.execute(s.alerts.insert().returning(s.alerts.c.id, sort_by_parameter_order=True),
                            rows).scalars().all()
        links = [{"alert_key": k, "track_id": t} for k, tids in zip(keys, ids) for t in tids]
        if links:
            conn.execute(s.alert_tracks.insert(), links)
        return [int(k) for k in keys]

    def _track_frame(self, query: sa.Select | None) -> pd.DataFrame:
        columns = ["run_key", *TRACK_FIELDS, "score"]
        if query is None:
            rows: list = []
            run_names: dict[int, str] = {}
        else:
            with self.engine.connect() as conn:
                rows = conn.execute(query).all()
                run_names = self._run_names(conn)
        # Column by column from plain tuples: pandas probes each SQLAlchemy Row object for attributes otherwise.
        values = list(zip(*rows)) if rows else [()] * len(columns)
        df = pd.DataFrame({name: pd.Series(col, dtype=object) for name, col in zip(columns, values)})
        out = model.conform(df.drop(columns="run_key"), model.TRACK_COLUMNS, model.TRACK_OPTIONAL_COLUMNS)
        out["score"] = out["score"].astype("float64")
        out.insert(0, "run_id", df["run_key"].map(run_names).astype("string"))
        return out

    @staticmethod
    def _with_extras(df: pd.DataFrame, columns: dict[str, str]) -> pd.DataFrame:
        """The contract columns, then the stage's extra fields unpacked from the ``extra`` JSON."""
        out = model.conform(df[[c for c in columns]], columns)
        if "extra" in df.columns and df["extra"].notna().any():
            extra = pd.DataFrame([_from_json(v) or {} for v in df["extra"]], index=df.index)
            out = pd.concat([out, extra.drop(columns=[c for c in extra.columns if c in out.columns])], axis=1)
        return out

    @staticmethod
    def _alert_frame(rows: Sequence[Any]) -> pd.DataFrame:
        records = [{
            "run_id": row["run_id"], "alert_id": row["alert_id"], "track_ids": _from_json(row["track_ids"]),
            "score": row["score"], "t_issued": row["t_issued"], "indicators": _from_json(row["indicators"]),
            "predicted_site": {"lat": row["site_lat"], "lon": row["site_lon"],
                               "airstrip_id": row["site_airstrip_id"]},
            "eta": row["eta"], "eta_window_s": row["eta_window_s"], **(_from_json(row["extra"]) or {}),
        } for row in rows]
        df = pd.DataFrame.from_records(records, columns=None if records else ["run_id", *model.ALERT_COLUMNS])
        out = model.conform(df.drop(columns="run_id"), model.ALERT_COLUMNS)
        out.insert(0, "run_id", df["run_id"].astype("string"))
        return out
