"""The web map in a real browser (Debian's headless Chromium, driven by Playwright), and its offline assets.

The server runs in a thread on a free loopback port, replaying the sample picture fast enough that aircraft
move and the alert arrives within seconds.
"""
from __future__ import annotations

import re
import shutil
import socket
import subprocess
import threading
import time
from pathlib import Path

import pytest
import uvicorn

from centinela.server import create_app
from centinela.server.app import STATIC_DIR
from centinela.server.live import ReplayFeed
from centinela.server.sample import sample_outputs
from centinela.store import Store, add_user

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
WEB_DIR = Path(__file__).resolve().parents[1] / "web"
# 600 sim seconds a wall second, a batch every 0.25 s: the sample's alert comes about 4 s into the replay.
REPLAY_SPEED = 600.0
REPLAY_TICK_S = 0.25
WAIT_MS = 20_000


def test_map_page_loads_nothing_from_the_internet():
    """Every URL in the shipped page, script and style is local, and every local one exists."""
    text = "".join((STATIC_DIR / name).read_text(encoding="utf-8") for name in ("index.html", "app.js", "style.css"))
    assert "http://" not in text and "https://" not in text
    assert not re.findall(r"""(?:src|href)\s*=\s*["']//|url\(\s*["']?//""", text)  # protocol-relative
    for path in re.findall(r"""["'](/static/[^"'?#]+)""", text):
        assert (STATIC_DIR / path.removeprefix("/static/")).is_file(), path
    assert (STATIC_DIR / "vendor" / "leaflet" / "leaflet.js").stat().st_size < 200_000


@pytest.mark.skipif(shutil.which("node") is None or not (WEB_DIR / "node_modules").is_dir(),
                    reason="node or web/node_modules missing (cd web && npm ci --ignore-scripts): build check skipped")
def test_committed_assets_match_the_web_build():
    result = subprocess.run(["node", "build.mjs", "--check"], cwd=WEB_DIR, capture_output=True, text=True,
                            check=False)
    assert result.returncode == 0, result.stderr


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """The operations centre replaying the sample picture, in a background thread; yields its base URL."""
    store = Store(tmp_path_factory.mktemp("web") / "centinela.db")
    outputs = sample_outputs()
    store.load_outputs(outputs, "day1", dispatch_to_units=["VRAEM-OPS"])
    add_user(store, "ana", "ana-pw", role="analyst", unit="VRAEM-OPS", scrypt_n=2**10)
    add_user(store, "jefe", "jefe-pw", role="admin", unit="VRAEM-OPS", scrypt_n=2**10)
    feed = ReplayFeed.from_outputs(outputs, "day1", speed=REPLAY_SPEED, tick_s=REPLAY_TICK_S)
    app = create_app(store, feed=feed, speed=REPLAY_SPEED, min_subscribers=1)  # the replay waits for the page
    port = _free_port()
    uv = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=uv.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not uv.started and time.monotonic() < deadline:
        time.sleep(0.05)
    assert uv.started, "the server did not start"
    yield f"http://127.0.0.1:{port}"
    uv.should_exit = True
    thread.join(timeout=10)


@pytest.fixture(scope="module")
def browser():
    if not CHROMIUM.exists():
        pytest.skip("/usr/bin/chromium not installed (apt-get install -y chromium): browser tests skipped")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield b
        b.close()


@pytest.fixture
def page(browser, server):
    context = browser.new_context(viewport={"width": 1400, "height": 850})
    page = context.new_page()
    page.set_default_timeout(WAIT_MS)
    requested: list[str] = []
    errors: list[str] = []
    page.on("request", lambda r: requested.append(r.url))
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.requested, page.errors = requested, errors
    yield page
    context.close()


def _marker_position(page, track_id: str) -> str:
    """Leaflet places a marker with a CSS translate on its icon element."""
    return page.eval_on_selector(f'.leaflet-marker-icon:has(.glyph[data-track-id="{track_id}"])',
                                 "el => el.style.transform")


def test_operator_logs_in_sees_tracks_move_clicks_an_alert_and_reads_the_dossier(page, server, tmp_path):
    page.goto(server + "/")
    page.wait_for_selector("#login:not([hidden])")
    page.fill("#username", "ana")
    page.fill("#password", "wrong")
    page.click("#login-form button")
    page.wait_for_selector("#login-error:has-text('Wrong')")
    page.fill("#password", "ana-pw")
    page.click("#login-form button")
    page.wait_for_selector("#login", state="hidden")
    assert "analyst" in page.inner_text("#who")

    # The replay starts when the page subscribes; the aircraft without transponder appears and moves.
    glyph = '.glyph[data-track-id="T-NARCO"]'
    page.wait_for_selector(glyph)
    assert "NO XPDR" in page.inner_text(f".leaflet-marker-icon:has({glyph})")
    first = _marker_position(page, "T-NARCO")
    page.wait_for_function(
        """([sel, first]) => { const el = document.querySelector(sel); return el && el.style.transform !== first; }""",
        arg=[f".leaflet-marker-icon:has({glyph})", first])
    assert page.inner_text("#mode").startswith("REPLAY")

    # The alert arrives over the stream, with its predicted site, ETA countdown and reasons.
    alert = page.wait_for_selector('#alerts .alert[data-alert-id="AL-0001"]')
    text = alert.inner_text()
    assert "AS-0001" in text and "ETA" in text and "no transponder" in text
    page.wait_for_function("() => /\\b(in|ago)\\b/.test(document.querySelector('#alerts .countdown').textContent)")
    alert.click()

    dossier = page.wait_for_selector('#dossier[data-track-id="T-NARCO"]:not([hidden])')
    body = dossier.inner_text()
    assert "NO TRANSPONDER" in body and "0.91" in body and "Why it was flagged" in body
    page.screenshot(path=str(tmp_path / "dossier.png"))

    assert not page.errors, page.errors
    assert all(url.startswith(server) for url in page.requested), [u for u in page.requested
                                                                   if not u.startswith(server)]


def _log_in(page, server: str, username: str, password: str) -> None:
    page.goto(server + "/")
    page.wait_for_selector("#login:not([hidden])")
    page.fill("#username", username)
    page.fill("#password", password)
    page.click("#login-form button")
    page.wait_for_selector("#login", state="hidden")


def test_a_widening_is_asked_by_one_person_and_approved_by_another(browser, page, server):
    _log_in(page, server, "ana", "ana-pw")
    alert = page.wait_for_selector('#alerts .alert[data-alert-id="AL-0001"]')
    assert re.search(r"your copy \S+", alert.inner_text()), "the operator sees which marked copy is theirs"
    alert.query_selector(".widen-btn").click()
    page.wait_for_selector("#widen-form:not([hidden])")
    assert page.is_hidden("#dossier"), "asking to widen does not open the dossier"
    page.fill("#widen-unit", "DIRANDRO-PICHARI")
    page.fill("#widen-reason", "the strip is in their patrol area")
    page.click("#widen-form button[type=submit]")
    request = page.wait_for_selector("#widening .widening:has-text('DIRANDRO-PICHARI')")
    assert "waiting for a second person" in request.inner_text() and not request.query_selector(".approve-form")

    # The administrator, in another session, sees the request and approves it with a reason.
    other = browser.new_context(viewport={"width": 1400, "height": 850}).new_page()
    other.set_default_timeout(WAIT_MS)
    _log_in(other, server, "jefe", "jefe-pw")
    form = other.wait_for_selector("#widening .widening:has-text('DIRANDRO-PICHARI') .approve-form")
    form.query_selector("input").fill("agreed: Pichari can reach it in time")
    form.query_selector("button").click()
    other.wait_for_selector("#widening .widening", state="detached")
    recipients = other.evaluate("() => fetch('/api/alerts/day1/AL-0001/recipients').then((r) => r.json())")
    assert "DIRANDRO-PICHARI" in {r["unit"] for r in recipients}, recipients
    other.context.close()
    assert not page.errors, page.errors


def test_api_docs_render_offline(page, server):
    page.goto(server + "/docs")
    page.wait_for_selector(".swagger-ui .opblock")
    assert "/api/tracks" in page.inner_text(".swagger-ui")
    assert all(url.startswith(server) for url in page.requested)
