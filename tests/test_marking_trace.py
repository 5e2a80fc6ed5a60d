"""Marked copies stay inside the alert's uncertainty, and a leak — full, a fragment, retyped, photographed —
is traced to its recipient, or honestly called too small to tell. Also the dispatch/widen/trace-leak commands."""
from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from centinela.alerts.commands_dispatch import dispatch_command, trace_leak_command, widen_command
from centinela.alerts.dispatch import read_dispatch_csv
from centinela.alerts.marking import (
    COPY_COLUMNS,
    ETA_SHIFT_MAX_S,
    LINE_KINDS,
    SIGMA_INFLATION,
    SITE_SHIFT_FRACTION,
    WINDOW_EDGE_MAX_S,
    marked_copies,
    read_copies,
    write_copies,
)
from centinela.alerts.trace import trace_leak
from centinela.evaluate.attribution import attribution_trials, leak, summarise_attribution, trial_alert
from centinela.geo.frames import haversine_m
from centinela.io.outputs import write_alerts_jsonl

UNITS = [f"U{k:02d}" for k in range(1, 21)]
T0 = 1_780_300_000.0


def make_alert(alert_id="A0007-F42", sigma_m=2_000.0, explanations=()):
    return {"alert_id": alert_id, "track_ids": ["T42"], "score": 0.97, "t_issued": T0, "eta": T0 + 1_800.0,
            "eta_window_s": 1_200.0, "indicators": ["no_transponder", "no_flight_plan", "night", "dawn",
                                                    "arrives_from_bolivia"],
            "predicted_site": {"lat": -12.48, "lon": -73.91, "airstrip_id": "AS12.4800S073.9100W"},
            "sigma_site_m": sigma_m, "site_probability": 0.8, "explanations": list(explanations)}


@pytest.fixture(scope="module")
def twenty():
    alert = make_alert(explanations=["consistent with a mission or bush flight to a remote strip"])
    copies = marked_copies(pd.DataFrame([alert]), pd.DataFrame({"alert_id": alert["alert_id"], "unit_id": UNITS}),
                           rng_seed=11)
    return alert, copies


def test_marks_stay_well_inside_the_alerts_uncertainty(twenty):
    alert, copies = twenty
    assert list(copies.columns) == COPY_COLUMNS and len(copies) == 20
    site, sigma = alert["predicted_site"], alert["sigma_site_m"]
    lo, hi = alert["eta"] - alert["eta_window_s"] / 2, alert["eta"] + alert["eta_window_s"] / 2
    for marks in map(json.loads, copies["marks"]):
        moved_m = haversine_m(site["lat"], site["lon"], marks["lat"], marks["lon"])
        assert moved_m <= SITE_SHIFT_FRACTION * sigma + 2.0  # + rounding to 1e-5 degree
        assert sigma - 1 <= marks["sigma_m"] <= (1 + SIGMA_INFLATION) * sigma + 1  # never more confident
        assert lo - WINDOW_EDGE_MAX_S - 1 <= marks["lo"] <= lo + 1  # the window only grows
        assert hi - 1 <= marks["hi"] <= hi + WINDOW_EDGE_MAX_S + 1
        assert abs(marks["eta"] - alert["eta"]) <= ETA_SHIFT_MAX_S + 1 and marks["lo"] < marks["eta"] < marks["hi"]
        assert sorted(marks["reason_order"]) == sorted(alert["indicators"])


def test_copies_say_the_same_thing_but_every_line_is_marked(twenty):
    alert, copies = twenty
    texts = [t.splitlines() for t in copies["text"]]
    assert all(len(lines) == len(LINE_KINDS) for lines in texts)
    for k, kind in enumerate(LINE_KINDS):
        distinct = len({lines[k] for lines in texts})
        # the explain line has few ways to say one explanation; every other line differs in every copy
        assert distinct >= (4 if kind == "explain" else 20), kind
    for text in copies["text"]:
        # the same alert, strip and meaning in every copy; every copy says it never authorises force
        assert alert["alert_id"] in text and "AS12.4800S073.9100W" in text
        assert "authorises no use of force" in text or "never" in text and "force" in text


def test_the_bulletin_states_the_site_probability_for_what_it_is():
    from centinela.alerts.marking import render_copy

    alert = make_alert()
    marks = json.loads(marked_copies(pd.DataFrame([alert]), pd.DataFrame({"alert_id": [alert["alert_id"]],
                                                                          "unit_id": ["U01"]}), rng_seed=1)["marks"][0])
    # an alert of today: site_probability is the calibrated chance of landing within 2 km of the site
    assert "80% chance of landing within 2 km" in render_copy({**alert, "site_share": 1.0}, marks)
    # an alert stored before the calibration: the value was the strip's share among the strips ahead
    assert "80% of the weight among the known strips ahead" in render_copy(alert, marks)


def test_full_copies_and_every_three_line_fragment_are_attributed(twenty):
    _, copies = twenty
    wrong = correct = total = 0
    for unit, text in zip(copies["unit_id"], copies["text"], strict=True):
        result = trace_leak(text, copies)
        assert (result.verdict, result.top) == ("attributed", unit)
        assert result.ranking["log10_lr"].iloc[0] > 10
        lines = text.splitlines()
        for start in range(len(lines) - 2):
            r = trace_leak("\n".join(lines[start:start + 3]), copies)
            total += 1
            correct += r.verdict == "attributed" and r.top == unit
            wrong += r.verdict == "attributed" and r.top != unit
    assert wrong == 0 and correct / total >= 0.95


def test_retyped_and_photographed_copies_are_attributed(twenty):
    _, copies = twenty
    rng = np.random.default_rng(5)
    for form in ("retyped", "photo", "retyped_fragment3"):
        outcomes = [trace_leak(leak(text, form, rng), copies) for text in copies["text"]]
        assert not any(r.verdict == "attributed" and r.top != u for r, u in zip(outcomes, UNITS, strict=True))
        assert sum(r.top == u for r, u in zip(outcomes, UNITS, strict=True)) >= 18, form


def test_too_small_to_tell_and_ambiguous(twenty):
    alert, copies = twenty
    assert trace_leak("A plane lands at dawn, be ready.", copies).verdict == "too small to tell"
    # the strip and the alert id are the same in every copy: they identify the alert, not the recipient
    only_ids = f"alert {alert['alert_id']} strip {alert['predicted_site']['airstrip_id']}\n"
    assert trace_leak(only_ids, copies).verdict == "too small to tell"
    # the reference codes of two copies and nothing else: both named, neither accused
    a, b = copies["copy_ref"].iloc[3], copies["copy_ref"].iloc[8]
    mixed = trace_leak(f"ref {a[:4]}-{a[4:]}\nref {b[:4]}-{b[4:]}\n", copies)
    assert mixed.verdict == "ambiguous" and set(mixed.candidates) == {UNITS[3], UNITS[8]}


def test_register_round_trip_and_widening_keeps_existing_copies(tmp_path, twenty):
    alert, copies = twenty
    first = copies.iloc[:3]
    write_copies(first, tmp_path)
    back = read_copies(tmp_path / "copies.jsonl")
    pd.testing.assert_frame_equal(back, first.reset_index(drop=True))
    assert (tmp_path / "copies" / "U01" / "A0007-F42.txt").read_text() == first["text"].iloc[0]
    more = marked_copies(pd.DataFrame([alert]), pd.DataFrame({"alert_id": [alert["alert_id"]] * 4,
                                                              "unit_id": ["U01", "U02", "U03", "U99"]}),
                         rng_seed=1, existing=back)
    assert more["unit_id"].tolist() == ["U99"]  # the three already sent are not remade
    register = pd.concat([back, more], ignore_index=True)
    assert register["copy_ref"].is_unique
    assert trace_leak(more["text"].iloc[0], register).top == "U99"


def test_attribution_trials_meet_the_targets():
    df = attribution_trials(n_seeds=6, n_recipients=20, leakers_per_seed=2,
                            forms=("full", "fragment3", "retyped", "summary"))
    summary = summarise_attribution(df).set_index("leak_form")
    assert summary.loc["full", "correct"] == 1.0
    assert summary.loc["fragment3", "correct"] >= 0.8
    assert summary.loc["retyped", "correct"] >= 0.8
    assert df["wrong"].sum() == 0


def test_trial_alert_has_the_fields_dispatch_and_marking_read():
    alert = trial_alert(np.random.default_rng(0))
    assert {"alert_id", "t_issued", "eta", "eta_window_s", "predicted_site", "sigma_site_m"} <= set(alert)
    assert alert["t_issued"] < alert["eta"]


def test_dispatch_widen_and_trace_leak_commands(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    alerts = [make_alert("A0001-F1"), {**make_alert("A0002-F2"), "eta": T0 + 600.0}]
    write_alerts_jsonl(pd.DataFrame(alerts), out / "alerts.jsonl")
    runner = CliRunner()
    result = runner.invoke(dispatch_command, [str(out), "--seed", "3"])
    assert result.exit_code == 0, result.output
    dispatch = read_dispatch_csv(out / "dispatch.csv")
    # 10 km from Pichari: its helicopter (25 min ready + 3 min) beats the Llochegua road patrol (31 min); plus
    # the duty prosecutor and the operations centre. With the plane 10 min out nobody can act: roles only.
    assert dispatch.loc[dispatch["alert_id"] == "A0001-F1", "unit_id"].tolist() == [
        "DIRANDRO-PICHARI-AIR", "FISCALIA-TID-PICHARI", "VRAEM-OPS"]
    assert dispatch.loc[dispatch["alert_id"] == "A0002-F2", "unit_id"].tolist() == ["FISCALIA-TID-PICHARI",
                                                                                    "VRAEM-OPS"]
    copies_before = (out / "copies.jsonl").read_text()

    refused = runner.invoke(widen_command, [str(out), "A0001-F1", "CE-VRAEM", "--requested-by", "ana",
                                            "--approved-by", "ana", "--reason", "more eyes"])
    assert refused.exit_code == 2 and "second person" in refused.output
    ok = runner.invoke(widen_command, [str(out), "A0001-F1", "CE-VRAEM", "--requested-by", "ana",
                                       "--approved-by", "jefe.ops.vraem", "--reason", "army helicopter needed"])
    assert ok.exit_code == 0, ok.output
    assert (out / "copies.jsonl").read_text().startswith(copies_before)  # earlier copies untouched
    audit = [json.loads(line) for line in (out / "audit.jsonl").read_text().splitlines()]
    assert [e["action"] for e in audit].count("dispatch") == len(dispatch)
    assert audit[-2]["action"] == "widen_refused" and audit[-1]["action"] == "widen"

    leaked = tmp_path / "leak.txt"
    leaked.write_text("\n".join((out / "copies" / "CE-VRAEM" / "A0001-F1.txt").read_text().splitlines()[4:7]))
    traced = runner.invoke(trace_leak_command, [str(leaked), "--copies", str(out / "copies.jsonl")])
    assert traced.exit_code == 0 and traced.output.startswith("attributed to CE-VRAEM"), traced.output
    leaked.write_text("something will land somewhere\n")
    vague = runner.invoke(trace_leak_command, [str(leaked), "--copies", str(out / "copies.jsonl")])
    assert vague.output.startswith("too small to tell")


def test_cli_dispatch_and_trace_in_a_subprocess(tmp_path):
    import subprocess
    import sys

    out = tmp_path / "out"
    out.mkdir()
    write_alerts_jsonl(pd.DataFrame([make_alert("A0001-F1")]), out / "alerts.jsonl")
    run = [sys.executable, "-m", "centinela.cli"]
    assert subprocess.run([*run, "dispatch", str(out)], capture_output=True, text=True, check=False).returncode == 0
    copy = next((out / "copies").glob("*/A0001-F1.txt"))
    traced = subprocess.run([*run, "trace-leak", str(copy), "--copies", str(out / "copies.jsonl")],
                            capture_output=True, text=True, check=False)
    assert traced.returncode == 0 and traced.stdout.startswith(f"attributed to {copy.parent.name}")
    bad = subprocess.run([*run, "trace-leak", str(copy), "--copies", str(tmp_path / "none.jsonl")],
                         capture_output=True, text=True, check=False)
    assert bad.returncode == 2 and "none.jsonl" in bad.stderr
