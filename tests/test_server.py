"""The HTTP API and live stream, through FastAPI's TestClient against a real SQLite file."""
from __future__ import annotations

import asyncio
import json

import pandas as pd
import pytest
from click.testing import CliRunner
from fastapi.testclient import TestClient

from centinela.io.outputs import write_outputs
from centinela.server import DEFAULT_DISPATCH_UNIT, create_app, load_replay
from centinela.server.cli import serve_command, users_command
from centinela.server.live import Batch, ReplayFeed, tracker_feed
from centinela.server.sample import sample_outputs
from centinela.store import Store, add_user

FAST_SCRYPT_N = 2**10  # tests only
UNIT = "VRAEM-OPS"
USERS = {  # name: (role, unit)
    "op": ("operator", UNIT),
    "ana": ("analyst", UNIT),
    "lima": ("analyst", "LIMA-HQ"),
    "root": ("admin", "IT"),
}


def make_store(path) -> Store:
    store = Store(path)
    store.load_outputs(sample_outputs(), "day1", dispatch_to_units=[UNIT])
    for name, (role, unit) in USERS.items():
        add_user(store, name, f"{name}-pw", role=role, unit=unit, scrypt_n=FAST_SCRYPT_N)
    return store


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    return make_store(tmp_path_factory.mktemp("db") / "centinela.db")


@pytest.fixture(scope="module")
def app(store):
    return create_app(store)


def login(app, name: str, client: TestClient | None = None) -> TestClient:
    """A client logged in as ``name``; with ``client`` (one running the app's lifespan), a logged-in view of it
    that shares its event loop (the live hub runs there), authorised by a bearer token."""
    fresh = client or TestClient(app)
    response = fresh.post("/api/login", json={"username": name, "password": f"{name}-pw"})
    assert response.status_code == 200, response.text
    if client is None:
        return fresh
    return _Authorised(client, response.json()["token"])


class _Authorised:
    """``client`` with every call carrying one user's token (query parameter for the WebSocket)."""

    def __init__(self, client: TestClient, token: str):
        self.client, self.token = client, token

    def get(self, path: str, **kwargs):
        return self.client.get(path, headers={"Authorization": f"Bearer {self.token}"}, **kwargs)

    def websocket_connect(self, path: str, **kwargs):
        return self.client.websocket_connect(f"{path}?token={self.token}", **kwargs)


def test_login_is_required_and_checks_the_password(app):
    anonymous = TestClient(app)
    assert anonymous.get("/api/tracks").status_code == 401
    assert anonymous.get("/api/alerts").status_code == 401
    assert anonymous.post("/api/login", json={"username": "op", "password": "nope"}).status_code == 401
    token = anonymous.post("/api/login", json={"username": "op", "password": "op-pw"}).json()["token"]
    bearer = TestClient(app, headers={"Authorization": f"Bearer {token}"})
    assert bearer.get("/api/me").json()["role"] == "operator"
    bearer.post("/api/logout")
    assert bearer.get("/api/me").status_code == 401


def test_tracks_in_a_window_and_bbox(app, store):
    client = login(app, "op")
    span = store.time_span()
    t0, t1 = span[0] + 1800, span[0] + 5400
    rows = client.get("/api/tracks", params={"t0": t0, "t1": t1, "bbox": "-74.2,-12.6,-73.0,-12.2"}).json()
    expected = store.tracks(t0, t1, (-74.2, -12.6, -73.0, -12.2))
    assert len(rows) == len(expected) > 0
    assert all(t0 <= r["t"] <= t1 and -74.2 <= r["lon"] <= -73.0 and -12.6 <= r["lat"] <= -12.2 for r in rows)
    narco = next(r for r in rows if r["track_id"] == "T-NARCO")
    assert narco["score"] == 0.91 and narco["icao24"] is None  # no transponder: no identity
    default = client.get("/api/tracks").json()  # the last half hour of data
    assert default and min(r["t"] for r in default) >= span[1] - 1800
    assert client.get("/api/tracks", params={"bbox": "1,2,3"}).status_code == 400
    assert client.get("/api/tracks", params={"t0": 0, "t1": 3 * 86400}).status_code == 400


def test_events_airstrips_and_a_strip_history(app):
    client = login(app, "op")
    events = client.get("/api/events", params={"kind": ["landing"]}).json()
    assert {e["kind"] for e in events} == {"landing"} and len(events) == 3
    strips = {s["id"]: s for s in client.get("/api/airstrips").json()}
    assert strips["AS-0001"]["registered"] is False and strips["SPMF"]["icao"] == "SPMF"
    history = client.get("/api/airstrips/AS-0001").json()
    assert [e["kind"] for e in history["events"]] == ["landing", "ground_stop", "takeoff"]
    assert client.get("/api/airstrips/NOPE").status_code == 404


def test_alerts_only_reach_cleared_users_and_each_read_is_audited(app, store):
    before = len(store.audit_log())
    op, lima, root = login(app, "op"), login(app, "lima"), login(app, "root")
    alerts = op.get("/api/alerts").json()
    assert [a["alert_id"] for a in alerts] == ["AL-0001"]
    # op's own marked copy: the same strip, a window at least as wide as the alert's, a reference of its own
    assert alerts[0]["predicted_site"]["airstrip_id"] == "AS-0001" and 300.0 <= alerts[0]["eta_window_s"] <= 420.0
    assert alerts[0]["copy_ref"] and alerts[0]["copy_ref"] in alerts[0]["bulletin"].replace("-", "")
    assert lima.get("/api/alerts").json() == []
    assert lima.get("/api/alerts/day1/AL-0001").status_code == 404  # same answer as for a missing alert
    assert root.get("/api/alerts").json() == []
    assert op.get("/api/alerts/day1/AL-0001").json()["track_ids"] == ["T-NARCO"]

    audit = store.audit_log().iloc[before:]
    assert audit[["username", "alert_id", "endpoint"]].values.tolist() == [
        ["op", "AL-0001", "GET /api/alerts"], ["op", "AL-0001", "GET /api/alerts/{run_id}/{alert_id}"]]


def test_dossier_shows_the_flight_and_only_cleared_alerts(app, store):
    op, lima = login(app, "op"), login(app, "lima")
    dossier = op.get("/api/flights/T-NARCO").json()
    assert dossier["score"] == 0.91
    assert dossier["summary"]["transponder_share"] == 0.0 and dossier["summary"]["sensors"] == ["PSR-1"]
    assert [e["kind"] for e in dossier["events"]] == ["landing", "ground_stop", "takeoff"]
    assert [a["alert_id"] for a in dossier["alerts"]] == ["AL-0001"]
    assert len(dossier["track"]["t"]) == dossier["summary"]["updates"]
    assert lima.get("/api/flights/T-NARCO").json()["alerts"] == []
    assert op.get("/api/flights/NOPE").status_code == 404
    last = store.audit_log().iloc[-1]
    assert (last["username"], last["endpoint"]) == ("op", "GET /api/flights/{track_id}")


def test_roles_gate_administration(app, store):
    op, ana, lima, root = (login(app, n) for n in ("op", "ana", "lima", "root"))
    for path in ("/api/users", "/api/runs", "/api/audit"):
        assert op.get(path).status_code == 403
    assert ana.get("/api/runs").json()[0]["run_id"] == "day1"
    assert ana.get("/api/users").status_code == 403
    assert {r["username"] for r in ana.get("/api/audit").json()} <= {"op", "ana"}  # only cleared alerts
    assert lima.get("/api/audit").json() == []
    # A distributed alert is widened only by a request and a second person's approval, never by one admin.
    assert root.post("/api/alerts/day1/AL-0001/dispatch", json={"usernames": ["lima"]}).status_code == 409
    assert ana.post("/api/alerts/day1/AL-0001/dispatch", json={"units": ["X"]}).status_code == 403
    request = ana.post("/api/alerts/day1/AL-0001/widen", json={"unit": "LIMA-HQ", "reason": "HQ must brief"})
    assert request.status_code == 201
    approved = root.post(f"/api/widening/{request.json()['request_id']}/approve", json={"reason": "agreed"})
    assert approved.status_code == 200, approved.text
    assert [a["alert_id"] for a in lima.get("/api/alerts").json()] == ["AL-0001"]
    recipients = root.get("/api/alerts/day1/AL-0001/recipients").json()
    assert {(r["unit"], r["username"]) for r in recipients} == {(UNIT, None), ("LIMA-HQ", None)}
    created = root.post("/api/users", json={"username": "new", "password": "pw", "role": "operator", "unit": "U"})
    assert created.status_code == 201
    assert root.post("/api/users", json={"username": "x", "password": "pw", "role": "king", "unit": "U"}
                     ).status_code == 400
    assert "new" in {u["username"] for u in root.get("/api/users").json()}


def test_api_docs_and_map_are_served_without_internet(app):
    client = TestClient(app)
    docs = client.get("/docs").text
    assert "/static/vendor/swagger-ui/swagger-ui-bundle.js" in docs and "cdn" not in docs.lower()
    assert "http://" not in docs and "https://" not in docs
    assert client.get("/static/vendor/swagger-ui/swagger-ui-bundle.js").status_code == 200
    assert "/api/tracks" in client.get("/openapi.json").json()["paths"]
    index = client.get("/")
    assert index.status_code == 200 and "/static/vendor/leaflet/leaflet.js" in index.text
    basemap = client.get("/api/basemap").json()
    kinds = {f["properties"]["kind"] for f in basemap["features"]}
    assert {"country", "border", "region"} <= kinds


def _read_until(ws, kind: str, limit: int = 500) -> list[dict]:
    seen = []
    for _ in range(limit):
        message = json.loads(ws.receive_text())
        seen.append(message)
        if message["type"] == kind:
            return seen
    raise AssertionError(f"no {kind!r} message in {limit}")


def test_live_replay_streams_tracks_to_all_and_alerts_to_the_cleared(tmp_path):
    store = make_store(tmp_path / "c.db")
    outputs = sample_outputs()
    feed = ReplayFeed.from_outputs(outputs, "day1", speed=10000.0, tick_s=0.02)
    app = create_app(store, feed=feed, speed=10000.0, min_subscribers=2)
    with TestClient(app) as client:
        op, lima = login(app, "op", client), login(app, "lima", client)
        with op.websocket_connect("/api/live") as ws_op, lima.websocket_connect("/api/live") as ws_lima:
            op_messages = _read_until(ws_op, "end")
            lima_messages = _read_until(ws_lima, "end")
        assert client.get("/api/status").json()["finished"] is True
    assert op_messages[0]["type"] == "hello" and op_messages[0]["mode"] == "replay"
    batches = [m for m in op_messages if m["type"] == "tracks"]
    assert [m["t"] for m in batches] == sorted(m["t"] for m in batches)  # in time order
    alerts = [a for m in op_messages if m["type"] == "alerts" for a in m["alerts"]]
    assert [a["alert_id"] for a in alerts] == ["AL-0001"]
    assert not [m for m in lima_messages if m["type"] == "alerts"]
    assert any(m["type"] == "tracks" and m["n"] for m in lima_messages)
    assert store.audit_log()[["username", "endpoint"]].values.tolist() == [["op", "WS /api/live"]]


def test_live_stream_refuses_anonymous_and_foreign_pages(tmp_path):
    store = make_store(tmp_path / "c.db")
    app = create_app(store, feed=ReplayFeed.from_outputs(sample_outputs(), "day1", speed=1.0, tick_s=10.0))
    with TestClient(app) as client:
        from starlette.websockets import WebSocketDisconnect

        with pytest.raises(WebSocketDisconnect) as refused, client.websocket_connect("/api/live") as ws:
            ws.receive_text()
        assert refused.value.code == 4401
        op = login(app, "op", client)
        with pytest.raises(WebSocketDisconnect) as foreign, op.websocket_connect(
                "/api/live", headers={"origin": "http://evil.example"}) as ws:
            ws.receive_text()
        assert foreign.value.code == 4403


def test_a_replay_shows_nothing_after_its_clock(tmp_path):
    store = make_store(tmp_path / "c.db")
    feed = ReplayFeed.from_outputs(sample_outputs(), "day1", speed=1.0, tick_s=60.0)  # the clock stays at the start
    app = create_app(store, feed=feed)
    with TestClient(app) as client:
        op = login(app, "op", client)
        status = op.get("/api/status").json()
        assert status["mode"] == "replay" and status["now"] == feed.start_s
        assert op.get("/api/alerts").json() == []  # issued later in the replay
        rows = op.get("/api/tracks", params={"t0": feed.start_s - 60, "t1": feed.start_s + 86000}).json()
        assert rows and all(r["t"] <= feed.start_s for r in rows)
        assert op.get("/api/flights/T-HELO").status_code == 404  # not airborne yet
        assert [s["id"] for s in op.get("/api/airstrips").json()] == ["AS-0001"]  # SPMF first seen later


def test_a_live_feed_is_persisted_and_dispatched(tmp_path):
    """Any async iterator of batches can feed the hub (the streaming tracker later): a live run."""
    store = make_store(tmp_path / "c.db")
    outputs = sample_outputs()
    store.create_run("live-1")
    tracks = outputs.tracks

    async def tracker_like_feed():
        previous = -1.0
        for t in (float(tracks["t"].quantile(0.25)), float(tracks["t"].max())):
            new = tracks[(tracks["t"] > previous) & (tracks["t"] <= t)]
            last = t == tracks["t"].max()
            yield Batch(t, "live-1", new, outputs.alerts if last else outputs.alerts.iloc[:0])
            previous = t
            await asyncio.sleep(0.01)

    app = create_app(store, feed=tracker_like_feed(), persist_feed=True, dispatch_to_units=("LIMA-HQ",),
                     min_subscribers=1)
    with TestClient(app) as client:
        lima = login(app, "lima", client)
        with lima.websocket_connect("/api/live") as ws:
            messages = _read_until(ws, "end")
        assert client.get("/api/status").json()["mode"] == "live"
    assert len(store.tracks(0.0, 4e9, run_id="live-1")) == len(tracks)
    assert [a["run_id"] for m in messages if m["type"] == "alerts" for a in m["alerts"]] == ["live-1"]


def test_the_streaming_tracker_feeds_a_live_run(tmp_path):
    from centinela.model import Sensor
    from centinela.track import Tracker

    store = make_store(tmp_path / "c.db")
    store.create_run("live-adsb")
    tracker = Tracker([Sensor("ADSB-1", "adsb", -12.5, -73.8, 600.0)])

    async def adsb_positions():  # an aircraft flying east, one ADS-B position every 10 s
        for k in range(6):
            yield pd.DataFrame({"t": [10.0 * k], "sensor": ["ADSB-1"], "lat": [-12.5], "lon": [-73.8 + 0.0065 * k],
                                "alt_m": [2000.0], "icao24": ["e80123"]})
            await asyncio.sleep(0.01)

    app = create_app(store, feed=tracker_feed(tracker, adsb_positions(), "live-adsb"), persist_feed=True,
                     min_subscribers=1)
    with TestClient(app) as client, login(app, "op", client).websocket_connect("/api/live") as ws:
        messages = _read_until(ws, "end")
    streamed = [tid for m in messages if m["type"] == "tracks" for tid in m["columns"]["track_id"]]
    stored = store.tracks(0.0, 100.0, run_id="live-adsb")
    assert len(streamed) == len(stored) == 6 and set(stored["icao24"]) == {"e80123"}


def test_replay_loads_an_outputs_folder_and_dispatches_by_the_policy_or_the_override(tmp_path):
    write_outputs(sample_outputs(), tmp_path / "out")
    store = Store(tmp_path / "c.db")
    outputs, run_id = load_replay(store, tmp_path / "out")
    assert run_id == "replay:out" and len(outputs.tracks) == len(store.tracks(0.0, 4e9))
    # The policy names the operations centre for every alert (tests/test_server_dispatch.py tries the rest).
    assert DEFAULT_DISPATCH_UNIT in store.recipients(run_id, "AL-0001")["unit"].tolist()
    load_replay(store, tmp_path / "out", dispatch_to_units=("LIMA-HQ",))  # a second replay replaces the run
    assert store.recipients(run_id, "AL-0001")["unit"].tolist() == ["LIMA-HQ"]
    assert store.runs()["run_id"].tolist() == ["replay:out"]
    from centinela.errors import InputError

    with pytest.raises(InputError, match="outputs folder"):
        load_replay(store, tmp_path)


def test_the_command_line_stays_light_and_agrees_with_the_store():
    import subprocess
    import sys

    from centinela.server.cli import ROLE_CHOICES
    from centinela.store import ROLES

    assert ROLE_CHOICES == ROLES
    probe = ("import sys, centinela.server.cli; "
             "print(sorted(m for m in ('fastapi', 'sqlalchemy', 'pandas') if m in sys.modules))")
    loaded = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True).stdout.strip()
    assert loaded == "[]"


def test_users_command_adds_lists_and_disables(tmp_path):
    db = str(tmp_path / "c.db")
    runner = CliRunner()
    result = runner.invoke(users_command, ["add", "ana", "--role", "analyst", "--unit", UNIT, "--db", db],
                           input="pw\npw\n")
    assert result.exit_code == 0, result.output
    assert runner.invoke(users_command, ["add", "ana", "--role", "analyst", "--unit", UNIT, "--db", db,
                                         "--password", "x"]).exit_code == 1  # name taken
    again = runner.invoke(users_command, ["add", "ana", "--role", "admin", "--unit", "X", "--db", db,
                                          "--password", "x", "--if-missing"])
    assert again.exit_code == 0 and "left as it is" in again.output
    listing = runner.invoke(users_command, ["list", "--db", db]).output
    assert "ana" in listing and "analyst" in listing and "active" in listing
    assert runner.invoke(users_command, ["disable", "ana", "--db", db]).exit_code == 0
    assert Store(db).login("ana", "pw") is None
    assert "--replay" in runner.invoke(serve_command, ["--help"]).output
    frame = Store(db).users()
    assert isinstance(frame, pd.DataFrame) and frame["active"].tolist() == [False]
