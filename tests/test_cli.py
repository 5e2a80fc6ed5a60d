"""The command line run the way a user runs it: a real subprocess, real files, real exit codes."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest


def contract_checker() -> Path:
    """The project's shared contract checker: $CENTINELA_SHARED, ../shared beside the repository, or
    /work/shared (where the team's machines keep it)."""
    candidates = [Path(os.environ["CENTINELA_SHARED"])] if "CENTINELA_SHARED" in os.environ else []
    candidates += [Path(__file__).resolve().parents[2] / "shared", Path("/work/shared")]
    for folder in candidates:
        if (folder / "tools" / "check_outputs.py").exists():
            return folder / "tools" / "check_outputs.py"
    pytest.skip("shared/tools/check_outputs.py not found: set CENTINELA_SHARED to the shared folder")


def run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "centinela.cli", *args], check=False, capture_output=True, text=True)


def test_help_teaches_the_commands():
    result = run("--help")
    assert result.returncode == 0
    for command in ("simulate", "analyze", "evaluate", "demo"):
        assert command in result.stdout
    assert "Example" in run("analyze", "--help").stdout


def test_missing_scenario_is_bad_input():
    result = run("analyze", "/nonexistent/scenario", "--out", "/tmp/x")
    assert result.returncode == 2
    assert "does not exist" in result.stderr


def test_progress_reaches_a_log_while_the_work_runs(tmp_path):
    # stderr is a pipe here, as in a batch job: rich would draw its bars only when the command ends.
    result = run("simulate", str(tmp_path / "s"), "--days", "0.02", "--seed", "5")
    assert result.returncode == 0, result.stderr
    lines = [line.split() for line in result.stderr.splitlines() if line.strip()]
    progress = [words for words in lines if words[-1].count(":") == 2]
    stages = [words[0] for words in progress]  # each line ends with the elapsed h:mm:ss
    assert {"terrain", "flying", "adsb", "done"} <= set(stages)
    assert stages.index("terrain") < stages.index("flying") < stages.index("done")
    assert stages.count("flying") >= 2, "a long stage logs as it advances, not once at the end"
    assert progress[stages.index("done")][-2] == "100%"


def test_malformed_plot_is_bad_input_naming_file_line_and_field(small_scenario, tmp_path):
    broken = tmp_path / "broken"
    shutil.copytree(small_scenario, broken)
    plots = broken / "plots.jsonl"
    lines = plots.read_text().splitlines()
    record = json.loads(lines[2])
    record["range_m"] = "far"
    lines[2] = json.dumps(record)
    plots.write_text("\n".join(lines) + "\n")
    result = run("analyze", str(broken), "--out", str(tmp_path / "out"))
    assert result.returncode == 2, result.stderr
    assert "plots.jsonl:3" in result.stderr and "range_m" in result.stderr
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "out").exists(), "a failed analyze must not leave outputs behind"


def test_analyze_writes_outputs_that_follow_the_contract(small_analysis):
    checker = [sys.executable, str(contract_checker()), str(small_analysis)]
    checked = subprocess.run(checker, check=False, capture_output=True, text=True)
    assert checked.returncode == 0, checked.stdout
    assert "follows the contract" in checked.stdout


def test_analyze_records_the_scenario_it_read(small_scenario, small_analysis):
    from centinela.io.outputs import recorded_scenario

    run_record = json.loads((small_analysis / "run.json").read_text())
    assert run_record["scenario"] == str(small_scenario.resolve())
    assert run_record["previous_airstrips"] is None
    assert recorded_scenario(small_analysis) == small_scenario.resolve()


def test_evaluate_prints_a_table_and_json(small_scenario, small_analysis):
    table = run("evaluate", str(small_scenario), str(small_analysis), "--no-report")
    assert table.returncode == 0, table.stderr
    assert "Evaluation" in table.stdout
    result = run("evaluate", str(small_scenario), str(small_analysis), "--json", "--no-report")
    assert result.returncode == 0, result.stderr
    metrics = json.loads(result.stdout)
    assert metrics, "evaluate returned no metrics"


def test_evaluate_without_truth_is_bad_input(small_analysis, tmp_path):
    result = run("evaluate", str(tmp_path), str(small_analysis))
    assert result.returncode == 2
    assert "truth" in result.stderr
