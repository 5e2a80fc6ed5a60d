"""Which units register a dispatch uses: ``--units``, else the scenario's own ``units.toml`` (named with
``--scenario`` or recorded by ``analyze`` in ``OUT/run.json``), else the packaged one — the same rule for
``centinela dispatch``, ``widen``, ``leaks`` and the operations centre."""
from __future__ import annotations

import json

from click.testing import CliRunner

from centinela.alerts.dispatch import choose_units_register, read_dispatch_csv
from centinela.alerts.units import default_units_path
from centinela.cli import main
from centinela.io.outputs import read_alerts_jsonl
from centinela.server.dispatching import plan_distribution, units_register

T0 = 1_780_300_000.0
# A register of the scenario's own: none of its unit ids is in the packaged one.
SCENARIO_REGISTER = """approvers = ["jefe.local"]

[[unit]]
unit_id = "LOCAL-PATROL"
kind = "police"
clearance = 2
lat = -12.45
lon = -73.90
area_radius_m = 60000.0
means = "road"
speed_kmh = 40.0
ready_min = 10.0

[[unit]]
unit_id = "LOCAL-OPS"
kind = "command"
clearance = 3
lat = -12.60
lon = -73.80
area_radius_m = 400000.0
means = "none"
speed_kmh = 0.0
ready_min = 0.0
always = true
"""


def write_outputs_folder(out) -> None:
    out.mkdir()
    row = {"alert_id": "A0001-F1", "track_ids": ["T1"], "score": 0.95, "t_issued": T0, "eta": T0 + 2_400.0,
           "eta_window_s": 1_200.0, "indicators": ["no_transponder"], "sigma_site_m": 1_000.0,
           "predicted_site": {"lat": -12.45, "lon": -73.85, "airstrip_id": "S1"}}
    (out / "alerts.jsonl").write_text(json.dumps(row) + "\n")


def test_units_option_beats_the_scenario_which_beats_the_packaged_register(tmp_path):
    scenario, bare = tmp_path / "scenario", tmp_path / "bare"
    scenario.mkdir()
    bare.mkdir()
    (scenario / "units.toml").write_text(SCENARIO_REGISTER)
    given = tmp_path / "given.toml"
    given.write_text(SCENARIO_REGISTER)
    assert choose_units_register(given, scenario).path == given
    assert choose_units_register(None, scenario).path == scenario / "units.toml"
    assert choose_units_register(None, scenario).source == "scenario"
    assert choose_units_register(None, bare).path == default_units_path()
    assert f"no units.toml in {bare}" in choose_units_register(None, bare).describe()
    assert choose_units_register().path == default_units_path()


def test_dispatch_picks_up_the_scenarios_register_and_says_so(tmp_path):
    scenario = tmp_path / "scenario"
    scenario.mkdir()
    (scenario / "units.toml").write_text(SCENARIO_REGISTER)
    runner = CliRunner()

    write_outputs_folder(own := tmp_path / "own")
    result = runner.invoke(main, ["dispatch", str(own), "--scenario", str(scenario), "--seed", "1"])
    assert result.exit_code == 0, result.output
    assert f"units register: {scenario / 'units.toml'} (the scenario's own)" in result.output
    assert read_dispatch_csv(own / "dispatch.csv")["unit_id"].tolist() == ["LOCAL-PATROL", "LOCAL-OPS"]
    # widening checks the approver against the same register: its approver is accepted, the packaged one's not
    refused = runner.invoke(main, ["widen", str(own), "A0001-F1", "LOCAL-PATROL", "--requested-by", "ana",
                                   "--approved-by", "jefe.ops.vraem", "--reason", "x", "--scenario", str(scenario)])
    assert refused.exit_code == 2 and "not authorised" in refused.output

    write_outputs_folder(overridden := tmp_path / "overridden")
    result = runner.invoke(main, ["dispatch", str(overridden), "--scenario", str(scenario),
                                  "--units", str(default_units_path()), "--seed", "1"])
    assert result.exit_code == 0 and "(given with --units)" in result.output, result.output
    assert "VRAEM-OPS" in set(read_dispatch_csv(overridden / "dispatch.csv")["unit_id"])

    write_outputs_folder(packaged := tmp_path / "packaged")
    result = runner.invoke(main, ["dispatch", str(packaged), "--seed", "1"])
    assert result.exit_code == 0 and "(the packaged VRAEM register)" in result.output, result.output
    assert not {"LOCAL-PATROL", "LOCAL-OPS"} & set(read_dispatch_csv(packaged / "dispatch.csv")["unit_id"])


def test_the_operations_centre_chooses_the_register_by_the_same_rule(tmp_path):
    scenario = tmp_path / "scenario"
    scenario.mkdir()
    (scenario / "units.toml").write_text(SCENARIO_REGISTER)
    write_outputs_folder(out := tmp_path / "out")
    assert CliRunner().invoke(main, ["dispatch", str(out), "--scenario", str(scenario)]).exit_code == 0

    units, approvers, register = units_register(None, scenario)
    assert register == choose_units_register(None, scenario) and approvers == ["jefe.local"]
    alerts = read_alerts_jsonl(out / "alerts.jsonl")
    served = plan_distribution(alerts, units, rng_seed=1).dispatch
    assert served["unit_id"].tolist() == read_dispatch_csv(out / "dispatch.csv")["unit_id"].tolist()
    assert units_register(default_units_path(), scenario)[2].source == "given"
    assert units_register(None, None)[2].path == default_units_path()


def test_a_simulated_scenarios_register_is_used_for_its_outputs(tmp_path):
    scenario = tmp_path / "sim"
    runner = CliRunner()
    simulated = runner.invoke(main, ["simulate", str(scenario), "--days", "0.01", "--seed", "3",
                                     "--leaky-unit", "DIRANDRO-KIMBIRI:0.5"])
    assert simulated.exit_code == 0, simulated.output
    assert (scenario / "units.toml").is_file()  # the simulator writes the register its leaks were drawn over
    write_outputs_folder(out := tmp_path / "out")
    result = runner.invoke(main, ["dispatch", str(out), "--scenario", str(scenario), "--seed", "2"])
    assert result.exit_code == 0, result.output
    assert f"units register: {scenario / 'units.toml'} (the scenario's own)" in result.output


def test_without_scenario_option_the_scenario_recorded_in_run_json_is_used(tmp_path):
    scenario = tmp_path / "scenario"
    scenario.mkdir()
    (scenario / "units.toml").write_text(SCENARIO_REGISTER)
    write_outputs_folder(out := tmp_path / "out")
    runner = CliRunner()
    # No record: the packaged register.
    assert choose_units_register(None, None, out).path == default_units_path()
    (out / "run.json").write_text(json.dumps({"scenario": str(scenario)}))
    result = runner.invoke(main, ["dispatch", str(out), "--seed", "1"])
    assert result.exit_code == 0, result.output
    assert f"units register: {scenario / 'units.toml'} (the scenario's own)" in result.output
    assert read_dispatch_csv(out / "dispatch.csv")["unit_id"].tolist() == ["LOCAL-PATROL", "LOCAL-OPS"]
    (out / "events.jsonl").write_text("")  # leak statistics need the run's events, here none
    leaks = runner.invoke(main, ["leaks", str(out)])
    assert leaks.exit_code == 0, leaks.output
    assert f"units register: {scenario / 'units.toml'}" in leaks.output
    # The operations centre replaying the folder applies the same rule.
    units, approvers, register = units_register(None, out)
    assert register.path == scenario / "units.toml" and approvers == ["jefe.local"]
    assert set(units["unit_id"]) == {"LOCAL-PATROL", "LOCAL-OPS"}
    # A recorded scenario that no longer exists is ignored, not an error.
    (out / "run.json").write_text(json.dumps({"scenario": str(tmp_path / "gone")}))
    assert choose_units_register(None, None, out).path == default_units_path()
