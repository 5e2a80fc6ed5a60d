"""The operations centre's HTTP API, live stream and web map (FastAPI).

``create_app(store, feed=...)`` builds the application. Every API route but login, status and the basemap
needs a session (cookie ``centinela_session`` set by ``POST /api/login``, or ``Authorization: Bearer TOKEN``).
Alert contents go out only through :meth:`Store.read_alerts`, which filters by clearance and audits.

When a feed is running (a replay), the API answers as of the feed's clock: nothing after "now" is shown, as
it would not have happened yet.
"""
from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import AsyncIterator, Collection
from importlib import resources
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlsplit

import anyio
from fastapi import Depends, FastAPI, HTTPException, Query, Request, Response, WebSocket, WebSocketDisconnect
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse
from fastapi.staticfiles import StaticFiles
from pydantic import BaseModel, Field

from centinela import __version__
from centinela.server.dossier import flight_dossier
from centinela.server.live import Batch, LiveHub
from centinela.server.need_to_know import add_need_to_know_routes
from centinela.store import ROLES, SESSION_TTL_S, BBox, Store, User
from centinela.store.store import AlreadyDistributed

log = logging.getLogger(__name__)

STATIC_DIR = Path(__file__).parent / "static"
SESSION_COOKIE = "centinela_session"
# One request may ask for at most a day of track updates: a simulated VRAEM day is ~12,000 updates, 120,000
# at ten times the traffic — about what a browser can still draw; longer spans go through Store.tracks.
MAX_WINDOW_S = 24 * 3600.0
# Without t0/t1 the map asks for the last half hour: long enough to draw a trail for every aircraft.
DEFAULT_WINDOW_S = 30 * 60.0
# The VRAEM as DESIGN.md bounds it (lat -11.3..-13.3, lon -73.4..-74.6), outlined on the map.
VRAEM_BBOX: BBox = (-74.6, -13.3, -73.4, -11.3)
WS_UNAUTHORIZED = 4401
WS_FORBIDDEN = 4403


class LoginRequest(BaseModel):
    username: str = Field(examples=["ana"])
    password: str = Field(examples=["secret"])


class NewUser(BaseModel):
    username: str
    password: str
    role: str = Field(description=f"one of {', '.join(ROLES)}")
    unit: str = Field(description="alerts dispatched to this unit reach the user")


class Dispatch(BaseModel):
    units: list[str] = []
    usernames: list[str] = []


def json_response(value: Any) -> Response:
    return Response(content=json.dumps(value, allow_nan=False), media_type="application/json")


def frame_response(df) -> Response:
    """A DataFrame as a JSON array of records, encoded by pandas (fast; NaN and NA become null)."""
    body = df.to_json(orient="records", double_precision=6) if len(df) else "[]"
    return Response(content=body, media_type="application/json")


def parse_bbox(text: str | None) -> BBox | None:
    """``lon_min,lat_min,lon_max,lat_max`` to a tuple; HTTP 400 when malformed."""
    if text is None:
        return None
    try:
        lon_min, lat_min, lon_max, lat_max = (float(v) for v in text.split(","))
    except ValueError:
        raise HTTPException(400, "bbox must be lon_min,lat_min,lon_max,lat_max in degrees") from None
    if not (lon_min <= lon_max and lat_min <= lat_max):
        raise HTTPException(400, "bbox must have lon_min <= lon_max and lat_min <= lat_max")
    return lon_min, lat_min, lon_max, lat_max


def basemap_geojson() -> dict[str, Any]:
    """Country polygons and land borders shipped with the package (centinela/data), plus the VRAEM outline."""
    features: list[dict[str, Any]] = []
    data = resources.files("centinela") / "data" / "borders_peru.geojson"
    if data.is_file():
        features = json.loads(data.read_text(encoding="utf-8"))["features"]
    lon_min, lat_min, lon_max, lat_max = VRAEM_BBOX
    features.append({"type": "Feature", "properties": {"kind": "region", "name": "VRAEM"}, "geometry": {
        "type": "Polygon", "coordinates": [[[lon_min, lat_min], [lon_max, lat_min], [lon_max, lat_max],
                                            [lon_min, lat_max], [lon_min, lat_min]]]}})
    return {"type": "FeatureCollection", "features": features}


def token_of(request: Request) -> str | None:
    """The session token from ``Authorization: Bearer`` or the session cookie."""
    header = request.headers.get("authorization", "")
    if header.lower().startswith("bearer "):
        return header[7:].strip()
    return request.cookies.get(SESSION_COOKIE)


def current_user(request: Request) -> User:
    """The logged-in user (a dependency of every private route); HTTP 401 otherwise."""
    token = token_of(request)
    user = request.app.state.store.user_for_token(token) if token else None
    if user is None:
        raise HTTPException(401, "log in first (POST /api/login)")
    return user


def requiring(right: str):
    """A dependency: the logged-in user, who must have ``right`` (see store.users.ROLE_RIGHTS); else 403."""
    def check(user: Annotated[User, Depends(current_user)]) -> User:
        if not user.can(right):
            raise HTTPException(403, f"the {user.role} role may not do this")
        return user
    return check


UserDep = Annotated[User, Depends(current_user)]


def create_app(store: Store, *, feed: AsyncIterator[Batch] | None = None, speed: float | None = None,
               persist_feed: bool = False, dispatch_to_units: tuple[str, ...] = (),
               secure_cookies: bool = False, min_subscribers: int = 0, mark_copies: bool = True,
               signing_key=None, approvers: Collection[str] = (), units=None) -> FastAPI:
    """The FastAPI application over ``store``; ``feed`` (a replay or live source) drives ``/api/live``.

    ``persist_feed`` writes the feed's batches into the store (a live run) and dispatches their alerts as the
    dispatch policy sends them over ``units`` (or to ``dispatch_to_units``, an override); ``secure_cookies`` marks the session cookie HTTPS-only (behind a TLS proxy);
    ``min_subscribers`` holds the feed until that many clients listen to ``/api/live``. ``mark_copies`` gives
    every recipient its own marked copy (centinela.server.marking); ``signing_key`` (Ed25519 key or PEM path)
    signs exports and audit checkpoints; ``approvers`` may approve widenings besides administrators;
    ``units`` is the register (centinela.alerts.units; default the packaged one) that live alerts are
    dispatched over and whose clearances a widening must respect.
    """
    if mark_copies and store.marker is None:
        from centinela.server.marking import mark_for_recipient

        store.marker = mark_for_recipient
    hub = LiveHub(store, feed, speed=speed, persist=persist_feed, dispatch_to_units=dispatch_to_units, units=units,
                  min_subscribers=min_subscribers) if feed is not None else None

    @contextlib.asynccontextmanager
    async def lifespan(_app: FastAPI):
        task = asyncio.create_task(hub.run()) if hub is not None else None
        try:
            yield
        finally:
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task

    app = FastAPI(title="Centinela operations centre", version=__version__, lifespan=lifespan,
                  docs_url=None, redoc_url=None,
                  description="Air picture, events, airstrips, alerts (need to know, audited) and the live "
                              "stream. Log in with POST /api/login; the session cookie then authorises the rest.")
    app.state.store = store
    app.state.hub = hub
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")

    # --- helpers bound to this app ---------------------------------------------------------------------

    def now_s() -> float | None:
        """The picture's clock: the feed's sim time, or None when no feed runs (all data is the past)."""
        return hub.now if hub is not None else None

    def until(t1: float | None) -> float | None:
        now = now_s()
        if now is None:
            return t1
        return now if t1 is None else min(t1, now)

    # --- pages -----------------------------------------------------------------------------------------

    @app.get("/", include_in_schema=False)
    def index() -> FileResponse:
        return FileResponse(STATIC_DIR / "index.html")

    @app.get("/docs", include_in_schema=False)
    def docs() -> HTMLResponse:
        return get_swagger_ui_html(openapi_url=app.openapi_url, title="Centinela API",
                                   swagger_js_url="/static/vendor/swagger-ui/swagger-ui-bundle.js",
                                   swagger_css_url="/static/vendor/swagger-ui/swagger-ui.css",
                                   swagger_favicon_url="/static/favicon.svg",
                                   # no badge from the online validator: the docs must work offline
                                   swagger_ui_parameters={"validatorUrl": None})

    @app.get("/favicon.ico", include_in_schema=False)
    def favicon() -> RedirectResponse:
        return RedirectResponse("/static/favicon.svg")

    # --- session ---------------------------------------------------------------------------------------

    @app.post("/api/login", tags=["session"])
    def login(body: LoginRequest, response: Response) -> dict[str, Any]:
        """Check the password; set the session cookie and return the token (for API clients) and the user."""
        result = store.login(body.username, body.password)
        if result is None:
            raise HTTPException(401, "wrong username or password")
        token, user = result
        response.set_cookie(SESSION_COOKIE, token, max_age=int(SESSION_TTL_S), httponly=True, samesite="strict",
                            secure=secure_cookies)
        return {"token": token, "user": user.__dict__}

    @app.post("/api/logout", tags=["session"])
    def logout(request: Request, response: Response) -> dict[str, bool]:
        token = token_of(request)
        if token:
            store.logout(token)
        response.delete_cookie(SESSION_COOKIE)
        return {"ok": True}

    @app.get("/api/me", tags=["session"])
    def me(user: UserDep) -> dict[str, Any]:
        return user.__dict__

    # --- picture ---------------------------------------------------------------------------------------

    @app.get("/api/status", tags=["picture"])
    def status() -> dict[str, Any]:
        """Mode (replay or archive), the picture's clock and the time span of the stored tracks."""
        span = store.time_span()
        return {
            "mode": "archive" if hub is None else ("live" if hub.persist else "replay"),
            "now": now_s(), "speed": hub.speed if hub else None, "finished": hub.finished if hub else None,
            "t_min": span[0] if span else None, "t_max": span[1] if span else None, "version": __version__,
        }

    @app.get("/api/basemap", tags=["picture"])
    def basemap() -> Response:
        """GeoJSON of country polygons, land borders and the VRAEM outline (open data shipped in the package)."""
        response = json_response(basemap_geojson())
        response.headers["Cache-Control"] = "max-age=86400"
        return response

    @app.get("/api/tracks", tags=["picture"])
    def tracks(user: UserDep, t0: float | None = None, t1: float | None = None,
               bbox: Annotated[str | None, Query(description="lon_min,lat_min,lon_max,lat_max")] = None,
               run_id: str | None = None) -> Response:
        """Track updates in [t0, t1] (epoch s; default the last half hour) inside bbox, with the track's score."""
        end = until(t1)
        if end is None:
            span = store.time_span()
            end = span[1] if span else 0.0
        start = end - DEFAULT_WINDOW_S if t0 is None else t0
        if end - start > MAX_WINDOW_S:
            raise HTTPException(400, f"ask for at most {MAX_WINDOW_S:.0f} s of tracks at a time")
        return frame_response(store.tracks(start, end, parse_bbox(bbox), run_id=run_id))

    @app.get("/api/events", tags=["picture"])
    def events(user: UserDep, t0: float | None = None, t1: float | None = None, bbox: str | None = None,
               kind: Annotated[list[str] | None, Query()] = None, run_id: str | None = None) -> Response:
        """Take-offs, landings, ground stops, border crossings, ... in [t0, t1] inside bbox."""
        return frame_response(store.events(t0, until(t1), parse_bbox(bbox), kinds=kind, run_id=run_id))

    @app.get("/api/airstrips", tags=["picture"])
    def airstrips(user: UserDep, run_id: str | None = None) -> Response:
        """The airstrip catalogue: registered and clandestine strips, landings, first and last seen."""
        return frame_response(store.airstrips(run_id=run_id, seen_before_s=now_s()))

    @app.get("/api/airstrips/{airstrip_id}", tags=["picture"])
    def airstrip(user: UserDep, airstrip_id: str) -> Response:
        """One strip and its history: every event (landing, ground stop, take-off) recorded at it."""
        strips = store.airstrips(seen_before_s=now_s())
        strip = strips[strips["id"] == airstrip_id]
        if strip.empty:
            raise HTTPException(404, f"no airstrip {airstrip_id!r}")
        history = store.events(t1_s=now_s(), airstrip_id=airstrip_id)
        return json_response({"airstrip": json.loads(strip.to_json(orient="records"))[0],
                              "events": json.loads(history.to_json(orient="records")) if len(history) else []})

    @app.get("/api/flights/{track_id}", tags=["picture"])
    def flight(user: UserDep, track_id: str, run_id: str | None = None) -> Response:
        """A flight's dossier: track, events, score, the assessment's indicators, and the alerts you may see."""
        dossier = flight_dossier(store, user, track_id, run_id=run_id, until_s=now_s())
        if dossier is None:
            raise HTTPException(404, f"no track {track_id!r}")
        return json_response(dossier)

    # --- alerts ----------------------------------------------------------------------------------------

    @app.get("/api/alerts", tags=["alerts"])
    def alerts(user: UserDep, t0: float | None = None, t1: float | None = None,
               run_id: str | None = None) -> Response:
        """The alerts dispatched to you or your unit, issued in [t0, t1]. Every alert returned is audited."""
        return frame_response(store.read_alerts(user, "GET /api/alerts", t0_s=t0, t1_s=until(t1), run_id=run_id))

    @app.get("/api/alerts/{run_id}/{alert_id}", tags=["alerts"])
    def alert(user: UserDep, run_id: str, alert_id: str) -> Response:
        """One alert, when it was dispatched to you or your unit (audited); 404 otherwise."""
        found = store.read_alerts(user, "GET /api/alerts/{run_id}/{alert_id}", run_id=run_id,
                                  alert_ids=[(run_id, alert_id)], t1_s=until(None))
        if found.empty:
            # The same answer for "does not exist" and "not cleared": the reply must not confirm an alert.
            raise HTTPException(404, f"no alert {alert_id!r} for you in run {run_id!r}")
        return json_response(json.loads(found.to_json(orient="records"))[0])

    @app.post("/api/alerts/{run_id}/{alert_id}/dispatch", tags=["alerts"])
    def dispatch(user: Annotated[User, Depends(requiring("dispatch"))], run_id: str, alert_id: str,
                 body: Dispatch) -> dict[str, Any]:
        """Admin: the first distribution of an alert nobody has yet (audited). Widening an existing
        distribution needs a request and a second person: POST …/widen, then /api/widening/{id}/approve."""
        try:
            store.dispatch(run_id, alert_id, units=body.units, usernames=body.usernames, by=user.username,
                           first_only=True)
        except AlreadyDistributed:
            raise HTTPException(409, "this alert is already distributed: widening needs a request "
                                     f"(POST /api/alerts/{run_id}/{alert_id}/widen) and a second person's approval"
                                ) from None
        except KeyError as e:
            raise HTTPException(404, str(e.args[0])) from None
        return {"ok": True}

    @app.get("/api/alerts/{run_id}/{alert_id}/recipients", tags=["alerts"])
    def recipients(user: Annotated[User, Depends(requiring("dispatch"))], run_id: str, alert_id: str) -> Response:
        """Admin: the units and users an alert was dispatched to."""
        try:
            return frame_response(store.recipients(run_id, alert_id))
        except KeyError as e:
            raise HTTPException(404, str(e.args[0])) from None

    @app.get("/api/audit", tags=["alerts"])
    def audit(user: UserDep, run_id: str | None = None, alert_id: str | None = None,
              since: float | None = None,
              action: Annotated[list[str] | None, Query(description="read (default), dispatch, export, "
                                                        "widen_request, widen_approve, ...; 'all' for every one")
                                ] = None) -> Response:
        """Who read which alert, when, through which endpoint (and, with ``action``, who dispatched, exported,
        widened). Admin: all; analyst: the entries about alerts cleared to them."""
        actions = None if action and "all" in action else (action or ["read"])
        if user.can("audit_all"):
            return frame_response(store.audit_log(run_id=run_id, alert_id=alert_id, since_s=since, actions=actions))
        if user.can("audit_own"):
            return frame_response(store.audit_log(reader=user, run_id=run_id, alert_id=alert_id, since_s=since,
                                                  actions=actions))
        raise HTTPException(403, f"the {user.role} role may not read the audit")

    add_need_to_know_routes(app, store, current_user, requiring, now_s=now_s, signing_key=signing_key,
                            approvers=approvers, units=units)

    # --- administration --------------------------------------------------------------------------------

    @app.get("/api/runs", tags=["admin"])
    def runs(user: Annotated[User, Depends(requiring("runs"))]) -> Response:
        """The analysis and live runs in the store."""
        return frame_response(store.runs())

    @app.get("/api/users", tags=["admin"])
    def users(user: Annotated[User, Depends(requiring("users"))]) -> Response:
        return frame_response(store.users())

    @app.post("/api/users", tags=["admin"], status_code=201)
    def create_user(user: Annotated[User, Depends(requiring("users"))], body: NewUser) -> dict[str, Any]:
        try:
            return store.add_user(body.username, body.password, body.role, body.unit).__dict__
        except ValueError as e:
            raise HTTPException(400, str(e)) from None

    # --- live stream -----------------------------------------------------------------------------------

    @app.websocket("/api/live")
    async def live(ws: WebSocket) -> None:
        """Track updates for everyone logged in; alerts only to the cleared (each delivery audited).

        Messages are JSON: ``hello`` (clock, speed), ``tracks`` (columnar batch), ``alerts``, ``end``.
        """
        origin = ws.headers.get("origin")
        if origin and urlsplit(origin).netloc != ws.headers.get("host"):
            await ws.close(code=WS_FORBIDDEN)  # another site's page must not ride on our session cookie
            return
        token = ws.query_params.get("token") or ws.cookies.get(SESSION_COOKIE)
        user = await asyncio.to_thread(store.user_for_token, token) if token else None
        if user is None:
            await ws.close(code=WS_UNAUTHORIZED)
            return
        await ws.accept()
        if hub is None:
            await ws.send_json({"type": "hello", "mode": "archive", "now": None})
            await ws.close()
            return
        sub = hub.subscribe(user)
        try:
            async with anyio.create_task_group() as group:
                async def send() -> None:
                    with contextlib.suppress(WebSocketDisconnect, RuntimeError):  # the client went away
                        await ws.send_json({"type": "hello", "mode": "live" if hub.persist else "replay",
                                            "now": hub.now, "speed": hub.speed})
                        while True:
                            await ws.send_text(await sub.queue.get())
                    group.cancel_scope.cancel()

                async def until_closed() -> None:
                    # The client sends nothing; reading is how a closed connection is noticed while the
                    # queue is quiet.
                    while (await ws.receive())["type"] != "websocket.disconnect":
                        pass
                    group.cancel_scope.cancel()

                group.start_soon(send)
                group.start_soon(until_closed)
        finally:
            hub.unsubscribe(sub)

    return app
