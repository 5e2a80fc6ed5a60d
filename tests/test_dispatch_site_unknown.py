"""Alerts that lack a part (no predicted site, no ETA: alerts from other tools or live feeds) are still
dispatched, their copies marked and a leak of one traced, from the command line as a user runs it."""
from __future__ import annotations

import json

import pandas as pd
from click.testing import CliRunner

from centinela.alerts.dispatch import plan_dispatch, read_dispatch_csv
from centinela.alerts.marking import LINE_KINDS, TEMPLATES, marked_copies, read_copies
from centinela.alerts.trace import trace_leak
from centinela.alerts.units import default_units, read_units
from centinela.cli import main
from centinela.geo.frames import destination

T0 = 1_780_300_000.0
SITE = (-12.5, -73.8)


def unit_toml(uid: str, kind: str, lat: float, lon: float, *, area_m: float = 60_000.0, means: str = "road",
              speed_kmh: float = 36.0, ready_min: float = 10.0, always: bool = False) -> str:
    return (f'[[unit]]\nunit_id = "{uid}"\nkind = "{kind}"\nclearance = 3\nlat = {lat}\nlon = {lon}\n'
            f'area_radius_m = {area_m}\nmeans = "{means}"\nspeed_kmh = {speed_kmh}\nready_min = {ready_min}\n'
            f"always = {str(always).lower()}\n\n")


def write_register(path) -> None:
    """Two police road units 9 and 30 km from SITE, one prosecutor and one operations centre for the area."""
    near, far = destination(*SITE, 90.0, 9_000.0), destination(*SITE, 270.0, 30_000.0)
    path.write_text('approvers = ["jefe", "fiscal"]\n\n'
                    + unit_toml("POLICE-NEAR", "police", float(near[0]), float(near[1]))
                    + unit_toml("POLICE-FAR", "police", float(far[0]), float(far[1]))
                    + unit_toml("PROSECUTOR", "prosecutor", *SITE, area_m=200_000.0, means="none", speed_kmh=0.0,
                                ready_min=0.0, always=True)
                    + unit_toml("OPS", "command", *SITE, area_m=400_000.0, means="none", speed_kmh=0.0,
                                ready_min=0.0, always=True))


def alert(alert_id: str, **changes) -> dict:
    base = {"alert_id": alert_id, "track_ids": ["T1"], "score": 0.95, "t_issued": T0, "eta": T0 + 1_800.0,
            "eta_window_s": 1_200.0, "indicators": ["no_transponder", "no_flight_plan", "night", "low_level"],
            "predicted_site": {"lat": SITE[0], "lon": SITE[1], "airstrip_id": "S1"}, "sigma_site_m": 1_500.0}
    base.update(changes)
    return {k: v for k, v in base.items() if v is not ...}  # ``...`` drops the field from the line


def write_alerts(path, alerts: list[dict]) -> None:
    path.write_text("".join(json.dumps(a) + "\n" for a in alerts))


def test_policy_without_a_site_sends_to_the_roles_that_do_not_depend_on_the_site(tmp_path):
    write_register(tmp_path / "units.toml")
    no_site = pd.DataFrame([alert("A1", predicted_site=None)])
    plan = plan_dispatch(no_site, read_units(tmp_path / "units.toml"))
    # no acting unit (none can be checked to reach an unknown site); one prosecutor and one centre: both
    assert plan["unit_id"].tolist() == ["PROSECUTOR", "OPS"]
    assert plan["reason"].str.contains("site unknown").all()
    # the packaged register has three prosecutors, each for its own area: the site decides which, so none
    packaged = plan_dispatch(no_site, default_units())
    assert packaged["unit_id"].tolist() == ["VRAEM-OPS"]
    assert "no prosecutor chosen" in packaged["reason"].iloc[0]
    # a site without coordinates is no site either
    strip_only = pd.DataFrame([alert("A2", predicted_site={"lat": None, "lon": None, "airstrip_id": "S9"})])
    assert plan_dispatch(strip_only, default_units())["unit_id"].tolist() == ["VRAEM-OPS"]


def test_policy_without_an_eta_still_sends_the_fastest_unit_of_the_area(tmp_path):
    write_register(tmp_path / "units.toml")
    units = read_units(tmp_path / "units.toml")
    plan = plan_dispatch(pd.DataFrame([alert("A1", eta=None)]), units)
    assert plan["unit_id"].tolist() == ["POLICE-NEAR", "PROSECUTOR", "OPS"]
    assert "ETA unknown" in plan["reason"].iloc[0] and plan["reason"].iloc[0].startswith("acts")
    # with an ETA three minutes away nobody reaches the site: the same alert without it still gets a unit
    late = plan_dispatch(pd.DataFrame([alert("A1", eta=T0 + 180.0)]), units)
    assert late["unit_id"].tolist() == ["PROSECUTOR", "OPS"]


def test_copies_of_a_site_unknown_alert_say_so_and_keep_their_marks():
    row = alert("A1", predicted_site=None)
    copies = marked_copies(pd.DataFrame([row]), pd.DataFrame({"alert_id": "A1", "unit_id": ["U1", "U2", "U3"]}),
                           rng_seed=4)
    for text, marks in zip(copies["text"], map(json.loads, copies["marks"]), strict=True):
        lines = text.splitlines()
        assert len(lines) == len(LINE_KINDS) - 1  # the site and sigma lines become one "site unknown" line
        assert "-12.5" not in text and "-73.8" not in text and "site_unknown" in marks["variant"]
        assert not {"lat", "lon", "sigma_m"} & set(marks)
        assert row["eta"] - row["eta_window_s"] / 2 - 61 <= marks["lo"] < marks["eta"] < marks["hi"]
        assert set(marks["reason_order"]) == set(row["indicators"])
    assert copies["text"].is_unique and copies["copy_ref"].is_unique
    for unit, text in zip(copies["unit_id"], copies["text"], strict=True):
        assert trace_leak(text, copies).top == unit

    no_eta = marked_copies(pd.DataFrame([alert("A2", eta=None)]), pd.DataFrame({"alert_id": "A2", "unit_id": ["U1"]}),
                           rng_seed=4)
    marks = json.loads(no_eta["marks"].iloc[0])
    assert not {"eta", "lo", "hi", "valid"} & set(marks) and "lat" in marks
    lines = set(no_eta["text"].iloc[0].splitlines())
    assert lines & set(TEMPLATES["eta_unknown"]) and lines & set(TEMPLATES["window_unknown"])


def test_dispatch_command_handles_alerts_without_site_or_eta_and_traces_their_leaks(tmp_path):
    scenario, out = tmp_path / "scenario", tmp_path / "out"
    scenario.mkdir()
    out.mkdir()
    write_register(scenario / "units.toml")
    write_alerts(out / "alerts.jsonl", [
        alert("A0001-F1"),
        alert("A0002-F2", predicted_site=None),          # null site
        alert("A0003-F3", predicted_site=...),           # no site field at all
        alert("A0004-F4", eta=None, eta_window_s=None),  # a site but no ETA
    ])
    runner = CliRunner()
    result = runner.invoke(main, ["dispatch", str(out), "--scenario", str(scenario), "--seed", "5"])
    assert result.exit_code == 0, result.output
    assert f"units register: {scenario / 'units.toml'} (the scenario's own)" in result.output

    dispatch = read_dispatch_csv(out / "dispatch.csv")
    by_alert = dispatch.groupby("alert_id")["unit_id"].apply(list).to_dict()
    assert by_alert == {"A0001-F1": ["POLICE-NEAR", "PROSECUTOR", "OPS"], "A0002-F2": ["PROSECUTOR", "OPS"],
                        "A0003-F3": ["PROSECUTOR", "OPS"], "A0004-F4": ["POLICE-NEAR", "PROSECUTOR", "OPS"]}
    reasons = dispatch.set_index(["alert_id", "unit_id"])["reason"]
    assert "site unknown" in reasons["A0002-F2", "OPS"] and "site unknown" in reasons["A0003-F3", "PROSECUTOR"]
    assert "ETA unknown" in reasons["A0004-F4", "POLICE-NEAR"]
    copies = read_copies(out / "copies.jsonl")
    assert sorted(zip(copies["alert_id"], copies["unit_id"])) == sorted(zip(dispatch["alert_id"],
                                                                            dispatch["unit_id"]))
    for row in dispatch.itertuples():
        assert (out / "copies" / row.unit_id / f"{row.alert_id}.txt").is_file()

    # a leaked site-unknown copy (whole, or three lines retyped by hand) names its recipient
    leaked_copy = out / "copies" / "PROSECUTOR" / "A0002-F2.txt"
    fragment = tmp_path / "fragment.txt"
    fragment.write_text("\n".join(leaked_copy.read_text().splitlines()[2:5]).lower() + "\n")
    for leak in (leaked_copy, fragment):
        traced = runner.invoke(main, ["trace-leak", str(leak), "--copies", str(out / "copies.jsonl")])
        assert traced.exit_code == 0, traced.output
        assert traced.output.startswith("attributed to PROSECUTOR (copy of alert A0002-F2)"), traced.output
    # the register now mixes copies with and without a site: a normal copy still traces to its recipient
    normal = out / "copies" / "OPS" / "A0001-F1.txt"
    traced = runner.invoke(main, ["trace-leak", str(normal), "--copies", str(out / "copies.jsonl")])
    assert traced.output.startswith("attributed to OPS (copy of alert A0001-F1)"), traced.output

    # the distribution of a site-unknown alert is widened as any other, and the new copy is marked apart
    widened = runner.invoke(main, ["widen", str(out), "A0002-F2", "POLICE-FAR", "--requested-by", "ana",
                                   "--approved-by", "jefe", "--reason", "the plane was seen near Llochegua",
                                   "--scenario", str(scenario), "--seed", "6"])
    assert widened.exit_code == 0, widened.output
    new_copy = out / "copies" / "POLICE-FAR" / "A0002-F2.txt"
    traced = runner.invoke(main, ["trace-leak", str(new_copy), "--copies", str(out / "copies.jsonl")])
    assert traced.output.startswith("attributed to POLICE-FAR"), traced.output


def test_an_alert_nobody_can_receive_is_reported_not_dropped_silently(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    write_alerts(out / "alerts.jsonl", [alert("A0001-F1", predicted_site=None)])
    result = CliRunner().invoke(main, ["dispatch", str(out), "--named", "prosecutor", "--seed", "1"])
    assert result.exit_code == 0, result.output
    assert "A0001-F1: no recipient" in result.output and "centinela widen" in result.output


def test_with_the_packaged_register_a_site_unknown_alerts_only_recipient_is_named_by_its_leak(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    write_alerts(out / "alerts.jsonl", [alert("A0001-F1"),
                                        alert("FEED-77", t_issued=T0 + 5_000.0, predicted_site=None, eta=None)])
    runner = CliRunner()
    result = runner.invoke(main, ["dispatch", str(out), "--seed", "8"])
    assert result.exit_code == 0, result.output
    dispatch = read_dispatch_csv(out / "dispatch.csv")
    assert dispatch.loc[dispatch["alert_id"] == "FEED-77", "unit_id"].tolist() == ["VRAEM-OPS"]
    copy = out / "copies" / "VRAEM-OPS" / "FEED-77.txt"
    fragment = tmp_path / "fragment.txt"
    fragment.write_text("\n".join(copy.read_text().splitlines()[1:4]) + "\n")
    for leak in (copy, fragment):
        traced = runner.invoke(main, ["trace-leak", str(leak), "--copies", str(out / "copies.jsonl")])
        # the alert's only copy: compared with the copies of the other alert, not with a sibling
        assert traced.output.startswith("attributed to VRAEM-OPS (copy of alert FEED-77)"), traced.output
        assert "the only recipient of this one" in traced.output
    fragment.write_text("a plane lands tonight somewhere in the valley\n")
    vague = runner.invoke(main, ["trace-leak", str(fragment), "--copies", str(out / "copies.jsonl")])
    assert vague.output.startswith("too small to tell"), vague.output
