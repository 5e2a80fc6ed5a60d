"""The store on SQLite and on a real PostgreSQL server: round trips, queries, need to know and audit."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import sqlalchemy as sa

from centinela import model
from centinela.io.outputs import read_outputs, write_outputs
from centinela.server.sample import sample_outputs
from centinela.store import Store, add_user, schema
from centinela.store.schema import SCHEMA_VERSION, SchemaError
from centinela.store.throwaway import PostgresUnavailable, postgres_cluster, server_bindir

FAST_SCRYPT_N = 2**10  # tests only: the real cost (2**17) takes half a second a hash


@pytest.fixture(scope="module")
def postgres_url():
    """A throwaway PostgreSQL cluster (Debian's postgresql package) on a free loopback port."""
    try:
        server_bindir()
    except PostgresUnavailable as e:
        pytest.skip(f"{e}: PostgreSQL store tests skipped")
    with postgres_cluster() as url:
        yield url


@pytest.fixture(params=["sqlite", "postgresql"])
def store(request, tmp_path):
    if request.param == "sqlite":
        st = Store(tmp_path / "centinela.db")
        yield st
        st.close()
        return
    url = request.getfixturevalue("postgres_url")
    schema.metadata.drop_all(sa.create_engine(url))  # each test starts from an empty database
    with sa.create_engine(url).begin() as conn:
        conn.execute(sa.text("DROP TABLE IF EXISTS schema_version"))
    st = Store(url)
    yield st
    st.close()


@pytest.fixture(scope="module")
def outputs() -> model.Outputs:
    out = sample_outputs()
    # Extra fields a stage may add beyond the contract must survive the store.
    out.events["evidence"] = [{"gap_s": 600.0}] * len(out.events)
    out.assessments["indicators"] = [{"no_transponder": 0.4}] * len(out.assessments)
    return out


def _sorted(df: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    return df.sort_values(keys, kind="stable").reset_index(drop=True)


def test_round_trip_gives_back_every_frame(store, outputs):
    store.load_outputs(outputs, "day1", dispatch_to_units=["VRAEM-OPS"])
    tracks = store.tracks(0.0, 4e9)
    assert (tracks["run_id"] == "day1").all()
    columns = list(model.TRACK_COLUMNS) + list(model.TRACK_OPTIONAL_COLUMNS)
    pd.testing.assert_frame_equal(_sorted(tracks[columns], ["t", "track_id"]),
                                  _sorted(outputs.tracks[columns], ["t", "track_id"]))
    scores = outputs.assessments.set_index("track_id")["score"]
    assert np.allclose(tracks["score"], tracks["track_id"].map(scores).astype(float))

    events = store.events()
    pd.testing.assert_frame_equal(events[list(model.EVENT_COLUMNS)].reset_index(drop=True),
                                  _sorted(outputs.events, ["t"])[list(model.EVENT_COLUMNS)], check_dtype=False)
    assert events["evidence"].tolist() == [{"gap_s": 600.0}] * len(events)

    strips = store.airstrips()
    pd.testing.assert_frame_equal(strips[list(model.AIRSTRIP_COLUMNS)],
                                  _sorted(outputs.airstrips, ["id"])[list(model.AIRSTRIP_COLUMNS)])
    assessments = store.assessments()
    assert dict(zip(assessments["track_id"], assessments["score"])) == scores.to_dict()
    assert assessments["indicators"].iloc[0] == {"no_transponder": 0.4}

    runs = store.runs()
    assert runs[["run_id", "kind", "tracks"]].values.tolist() == [["day1", "analyze", len(outputs.tracks)]]


def test_time_and_bbox_query_returns_exactly_the_matching_updates(store, outputs):
    store.load_outputs(outputs, "day1")
    t0, t1 = outputs.tracks["t"].quantile([0.3, 0.6])
    bbox = (-74.2, -12.6, -73.0, -12.2)
    got = store.tracks(t0, t1, bbox)
    tr = outputs.tracks
    expected = tr[tr["t"].between(t0, t1) & tr["lon"].between(bbox[0], bbox[2]) & tr["lat"].between(bbox[1], bbox[3])]
    assert len(expected) > 10
    assert sorted(zip(got["t"], got["track_id"])) == sorted(zip(expected["t"], expected["track_id"]))
    assert got["t"].is_monotonic_increasing


def test_track_history_follows_the_flight_across_linked_tracks(store, outputs):
    out = model.Outputs(tracks=outputs.tracks.copy())
    narco = out.tracks["track_id"] == "T-NARCO"
    second_half = narco & (out.tracks["t"] > out.tracks.loc[narco, "t"].median())
    out.tracks.loc[second_half, "track_id"] = "T-NARCO-2"  # the radar lost it on the ground: a new track
    store.load_outputs(out, "day1")
    history = store.track_history("T-NARCO-2")
    assert set(history["track_id"]) == {"T-NARCO", "T-NARCO-2"}
    assert len(history) == narco.sum()
    assert store.track_history("nope").empty


def test_runs_are_replaced_only_on_request_and_the_audit_stays(store, outputs):
    store.load_outputs(outputs, "day1", dispatch_to_units=["VRAEM-OPS"])
    with pytest.raises(ValueError, match="already in the store"):
        store.load_outputs(outputs, "day1")
    ana = add_user(store, "ana", "pw", role="analyst", unit="VRAEM-OPS", scrypt_n=FAST_SCRYPT_N)
    assert len(store.read_alerts(ana, "test")) == 1
    store.load_outputs(outputs, "day1", replace=True)  # reloaded without dispatch: nobody is cleared now
    assert len(store.tracks(0.0, 4e9)) == len(outputs.tracks)
    assert store.read_alerts(ana, "test").empty
    assert store.audit_log()["alert_id"].tolist() == ["AL-0001"]


def test_alert_reaches_only_its_units_and_users_and_every_read_is_audited(store, outputs):
    store.load_outputs(outputs, "day1", dispatch_to_units=["VRAEM-OPS"])
    operator = add_user(store, "op", "pw", role="operator", unit="VRAEM-OPS", scrypt_n=FAST_SCRYPT_N)
    outsider = add_user(store, "lima", "pw", role="analyst", unit="LIMA-HQ", scrypt_n=FAST_SCRYPT_N)
    admin = add_user(store, "root", "pw", role="admin", unit="IT", scrypt_n=FAST_SCRYPT_N)

    seen = store.read_alerts(operator, "GET /api/alerts")
    assert seen["alert_id"].tolist() == ["AL-0001"]
    assert seen["predicted_site"].iloc[0]["airstrip_id"] == "AS-0001"
    assert store.read_alerts(outsider, "GET /api/alerts").empty
    assert store.read_alerts(admin, "GET /api/alerts").empty  # the admin role is no clearance

    store.dispatch("day1", "AL-0001", usernames=["lima"], by="root")
    assert store.read_alerts(outsider, "GET /api/alerts/{run_id}/{alert_id}",
                             alert_ids=[("day1", "AL-0001")])["alert_id"].tolist() == ["AL-0001"]
    assert store.recipients("day1", "AL-0001")[["unit", "username"]].fillna("").values.tolist() == [
        ["VRAEM-OPS", ""], ["", "lima"]]

    audit = store.audit_log()
    assert audit[["username", "unit", "alert_id", "endpoint"]].values.tolist() == [
        ["op", "VRAEM-OPS", "AL-0001", "GET /api/alerts"],
        ["lima", "LIMA-HQ", "AL-0001", "GET /api/alerts/{run_id}/{alert_id}"]]
    assert store.audit_log(reader=operator)["username"].tolist() == ["op", "lima"]
    assert store.audit_log(reader=admin).empty


def test_alert_filters_by_time_and_track(store, outputs):
    store.load_outputs(outputs, "day1", dispatch_to_units=["U"])
    user = add_user(store, "u", "pw", role="operator", unit="U", scrypt_n=FAST_SCRYPT_N)
    t_issued = float(outputs.alerts["t_issued"].iloc[0])
    assert store.read_alerts(user, "x", t1_s=t_issued - 1).empty
    assert len(store.read_alerts(user, "x", t0_s=t_issued, t1_s=t_issued)) == 1
    assert len(store.read_alerts(user, "x", track_ids=["T-NARCO"])) == 1
    assert store.read_alerts(user, "x", track_ids=["T-HELO"]).empty
    assert len(store.audit_log()) == 2  # only the reads that returned the alert


def test_login_sessions_and_disabled_users(store):
    add_user(store, "ana", "correct horse", role="analyst", unit="U", scrypt_n=FAST_SCRYPT_N)
    assert store.login("ana", "wrong") is None
    token, user = store.login("ana", "correct horse")
    assert store.user_for_token(token) == user
    assert store.user_for_token(token + "x") is None
    with pytest.raises(ValueError, match="already exists"):
        add_user(store, "ana", "pw", role="analyst", unit="U", scrypt_n=FAST_SCRYPT_N)
    with pytest.raises(ValueError, match="role must be one of"):
        add_user(store, "bob", "pw", role="general", unit="U", scrypt_n=FAST_SCRYPT_N)
    store.set_active("ana", False)
    assert store.user_for_token(token) is None
    assert store.login("ana", "correct horse") is None
    assert "password_hash" not in store.users().columns


def test_live_batches_append_to_a_run(store, outputs):
    store.create_run("live-1")
    tracks = outputs.tracks
    half = tracks["t"] <= tracks["t"].median()
    store.append("live-1", tracks=tracks[half])
    keys = store.append("live-1", tracks=tracks[~half], alerts=outputs.alerts, dispatch_to_units=["U"])
    assert len(keys) == 1
    assert len(store.tracks(0.0, 4e9, run_id="live-1")) == len(tracks)
    store.append("live-1", assessments=outputs.assessments.assign(score=0.5))  # scores change live: upsert
    assert (store.assessments(run_id="live-1")["score"] == 0.5).all()


def test_outputs_written_by_the_io_writers_load_unchanged(tmp_path, outputs):
    write_outputs(sample_outputs(), tmp_path / "out")
    store = Store(tmp_path / "c.db")
    store.load_outputs(read_outputs(tmp_path / "out"), "from-files")
    assert len(store.tracks(0.0, 4e9)) == len(outputs.tracks)
    assert store.events()["track_ids"].tolist() == _sorted(outputs.events, ["t"])["track_ids"].tolist()


def test_schema_is_versioned_and_a_newer_database_is_refused(tmp_path):
    path = tmp_path / "c.db"
    Store(path).close()
    engine = sa.create_engine(f"sqlite:///{path}")
    with engine.connect() as conn:
        assert schema.current_version(conn) == SCHEMA_VERSION
        assert conn.execute(sa.text("PRAGMA journal_mode")).scalar() == "wal"
        indexes = {ix["name"] for ix in sa.inspect(conn).get_indexes("tracks")}
    assert "ix_tracks_t_lat_lon" in indexes
    assert schema.migrate(engine) == SCHEMA_VERSION  # opening again changes nothing
    with engine.begin() as conn:
        conn.execute(schema.schema_version.insert().values(version=SCHEMA_VERSION + 1, applied_at=0.0,
                                                           description="from the future"))
    with pytest.raises(SchemaError, match="upgrade Centinela"):
        Store(path)
