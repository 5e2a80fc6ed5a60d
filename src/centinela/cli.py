"""The ``centinela`` command line.

Exit codes: 0 success, 2 bad input (the message names the file, line and field), 1 internal error.
"""
from __future__ import annotations

import json
import os
import sys
import time
import traceback
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path

import click

from centinela.errors import InputError

EXIT_BAD_INPUT = 2
EXIT_INTERNAL = 1


# Without a terminal (a batch job's log), a progress line is written each time a stage passes another quarter.
LOG_PROGRESS_STEP = 0.25


@contextmanager
def progress_bars():
    """A ``progress(stage, fraction)`` callback drawing one rich bar per stage on stderr; when stderr is not a
    terminal, plain lines (``track 50% 0:01:12``) instead, which rich would only draw at the end."""
    from rich.console import Console
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    console = Console(stderr=True)
    if not console.is_terminal:
        yield _progress_lines()
        return
    with Progress(TextColumn("{task.description:<10}"), BarColumn(), TextColumn("{task.percentage:>3.0f}%"),
                  TimeElapsedColumn(), console=console, transient=False) as bars:
        tasks: dict[str, int] = {}

        def progress(stage: str, fraction: float) -> None:
            if stage not in tasks:
                tasks[stage] = bars.add_task(stage, total=1.0)
            bars.update(tasks[stage], completed=min(max(fraction, 0.0), 1.0))

        yield progress


def _progress_lines():
    """The ``progress(stage, fraction)`` callback for a log: one line per stage and quarter passed, with the
    time since the command started."""
    start = time.monotonic()
    logged: dict[str, int] = {}

    def progress(stage: str, fraction: float) -> None:
        step = int(min(max(fraction, 0.0), 1.0) / LOG_PROGRESS_STEP + 1e-9)
        if logged.get(stage, -1) >= step:
            return
        logged[stage] = step
        elapsed = timedelta(seconds=int(time.monotonic() - start))
        click.echo(f"{stage:<10} {step * LOG_PROGRESS_STEP:4.0%}  {elapsed}", err=True)

    return progress


class CentinelaGroup(click.Group):
    """Turns bad input into one clear line and exit code 2, and crashes into exit code 1."""

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except InputError as e:
            click.secho(f"error: {e}", fg="red", err=True)
            sys.exit(EXIT_BAD_INPUT)
        except (click.exceptions.Exit, click.exceptions.Abort, click.ClickException, SystemExit):
            raise
        except BrokenPipeError:
            # The reader of our output went away (`centinela ... | head`): not an error of ours. Point stdout at
            # /dev/null so that Python's final flush does not fail again.
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            sys.exit(0)
        except Exception as e:  # noqa: BLE001 — the one place that turns a crash into exit code 1
            if ctx.obj and ctx.obj.get("debug"):
                traceback.print_exc()
            click.secho(f"internal error: {type(e).__name__}: {e} (run with --debug for the traceback)",
                        fg="red", err=True)
            sys.exit(EXIT_INTERNAL)


@click.group(cls=CentinelaGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--debug", is_flag=True, help="Print tracebacks of internal errors.")
@click.version_option(package_name="centinela")
@click.pass_context
def main(ctx: click.Context, debug: bool) -> None:
    """Centinela finds clandestine flights in radar and ADS-B data.

    \b
    A scenario is a folder of sensor files (sensors.toml, plots.jsonl, adsb.sbs, ...; see CONTRACT.md).
    The usual loop:
      centinela simulate runs/s1 --days 1 --seed 7     # make a scenario with ground truth
      centinela analyze runs/s1 --out runs/s1-out      # tracks, events, airstrips, scores, alerts, report
      centinela evaluate runs/s1 runs/s1-out           # score the outputs against the truth
    or all three at once:  centinela demo
    """
    ctx.ensure_object(dict)["debug"] = debug


@main.command()
@click.argument("out", type=click.Path(file_okay=False, path_type=Path))
@click.option("--days", type=click.FloatRange(min=0.01, max=60), default=1.0, show_default=True,
              help="Length of the simulated period in days (fractions allowed).")
@click.option("--seed", type=int, default=0, show_default=True, help="Random seed; same seed, same files.")
@click.option("--profile", type=click.Choice(["easy", "hard"]), default="easy", show_default=True,
              help="easy: good radar, few confounders. hard: weak radar, clutter, many confounders.")
@click.option("--config", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="TOML file overriding any simulator parameter (see docs/simulator.md).")
@click.option("--leaky-unit", "leaky_units", multiple=True, metavar="ID:P[:ABORT[:DELAY_MIN]]",
              help="A recipient that leaks: with probability P an alert it receives makes the flight abort "
                   "(probability ABORT, default from the config) or divert, DELAY_MIN minutes later. Repeatable.")
def simulate(out: Path, days: float, seed: int, profile: str, config: Path | None,
             leaky_units: tuple[str, ...] = ()) -> None:
    """Simulate a VRAEM scenario with ground truth into folder OUT.

    Writes the contract's inputs (sensors.toml, plots.jsonl, adsb.sbs, observations.jsonl,
    flightplans.csv) and truth/ (states, flights, events); with --leaky-unit also units.toml and
    truth/leaks.csv.

    Example:  centinela simulate runs/week --days 7 --seed 3 --profile hard --leaky-unit DIRANDRO-KIMBIRI:0.5
    """
    from centinela.sim import simulate as run_simulation
    from centinela.sim.config import resolve_config
    from centinela.sim.leaks import parse_leaky_unit

    overrides: Path | dict | None = config
    if leaky_units:
        try:
            leaky = {k: v for text in leaky_units for k, v in parse_leaky_unit(text).items()}
            overrides = resolve_config(profile, config)
        except ValueError as e:
            raise click.BadParameter(str(e), param_hint="--leaky-unit") from None
        overrides.setdefault("leaks", {}).setdefault("units", {}).update(leaky)
    started = time.perf_counter()
    with progress_bars() as progress:
        summary = run_simulation(out, days=days, seed=seed, profile=profile, config=overrides, progress=progress)
    click.echo(f"scenario written to {out} in {time.perf_counter() - started:.1f} s")
    for key, value in summary.items():
        click.echo(f"  {key}: {value}")


@main.command()
@click.argument("scenario", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--out", "out", required=True, type=click.Path(file_okay=False, path_type=Path),
              help="Folder for the outputs (tracks.parquet, events.jsonl, airstrips.geojson, ...).")
@click.option("--airstrips", "previous_airstrips", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="An earlier airstrips.geojson to update, so the catalogue accumulates across runs.")
def analyze(scenario: Path, out: Path, previous_airstrips: Path | None) -> None:
    """Analyse the scenario folder SCENARIO and write the outputs into OUT.

    Never reads SCENARIO/truth. Outputs are replaced all at once: a failed run leaves OUT as it was.

    Example:  centinela analyze runs/s1 --out runs/s1-out --airstrips catalogue/airstrips.geojson
    """
    from centinela.pipeline import analyze as run_analysis

    started = time.perf_counter()
    with progress_bars() as progress:
        outputs = run_analysis(scenario, out, previous_airstrips=previous_airstrips, progress=progress)
    click.echo(f"outputs written to {out} in {time.perf_counter() - started:.1f} s")
    for stage, status in outputs.stages.items():
        click.echo(f"  {stage:<10} {status}")
    click.echo(f"  open {out / 'report.html'}")


@main.command()
@click.argument("scenario", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.argument("out", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Print the metrics as JSON instead of a table.")
@click.option("--report/--no-report", default=True, show_default=True,
              help="Add the evaluation table to OUT/report.html.")
def evaluate(scenario: Path, out: Path, as_json: bool, report: bool) -> None:
    """Score the outputs in OUT against the truth of the simulated SCENARIO.

    Metrics are defined in docs/metrics.md; a metric whose output is missing is null.

    Example:  centinela evaluate runs/s1 runs/s1-out --json > metrics.json
    """
    from centinela.evaluate import evaluate as run_evaluation
    from centinela.evaluate import metrics_table

    if not (scenario / "truth").is_dir():
        raise InputError(scenario / "truth", "no truth folder: only simulated scenarios can be evaluated")
    metrics = run_evaluation(scenario, out)
    rows = metrics_table(metrics)
    if as_json:
        click.echo(json.dumps(metrics, indent=2, default=str))
    else:
        _print_table(rows)
    if report:
        _add_evaluation_to_report(scenario, out, rows)


@main.command("evaluate-need-to-know")
@click.option("--seeds", "n_seeds", type=click.IntRange(min=1, max=10_000), default=50, show_default=True,
              help="Seeds (simulated seasons) per trial.")
@click.option("--leak-prob", type=click.FloatRange(0.0, 1.0), default=0.5, show_default=True,
              help="Share of its alerts the simulated leaky unit leaks.")
@click.option("--audit-trials", type=click.IntRange(min=1), default=1000, show_default=True,
              help="Tamperings of the audit log to try.")
@click.option("--json", "as_json", is_flag=True, help="Print the tables as JSON.")
def evaluate_need_to_know(n_seeds: int, leak_prob: float, audit_trials: int, as_json: bool) -> None:
    """Measure leak tracing, leak flagging and the audit trail over many simulated seeds.

    \b
    - attribution: a leaked copy (full, a 3-line fragment, retyped, photographed, ...) of one of 20
      recipients' marked copies, traced back with trace-leak;
    - leak flags: seasons of alerts dispatched by the default policy, one unit leaking --leak-prob of what it
      receives: how many shared alerts it takes to flag it, how often an honest unit is wrongly flagged;
    - audit: single-entry edits, deletions, reorderings and insertions of a hash-chained log.
    Definitions in docs/need_to_know.md.

    Example:  centinela evaluate-need-to-know --seeds 50
    """
    from centinela.evaluate.attribution import attribution_trials, summarise_attribution
    from centinela.evaluate.audit_fuzz import audit_fuzz_trials, summarise_audit_fuzz
    from centinela.evaluate.leaks import leak_flag_trials, summarise_leak_trials

    with progress_bars() as progress:
        progress("tracing", 0.0)
        tracing = summarise_attribution(attribution_trials(n_seeds=n_seeds))
        progress("tracing", 1.0)
        progress("leaks", 0.0)
        leaks = summarise_leak_trials(leak_flag_trials(n_seeds=n_seeds, leak_prob=leak_prob))
        progress("leaks", 1.0)
        progress("audit", 0.0)
        audit = summarise_audit_fuzz(audit_fuzz_trials(n_trials=audit_trials))
        progress("audit", 1.0)
    tables = {"attribution": tracing, "leak_flags": leaks, "audit": audit}
    if as_json:
        click.echo(json.dumps({k: v.to_dict(orient="records") for k, v in tables.items()}, indent=2, default=str))
        return
    for name, table in tables.items():
        click.echo(f"\n{name} ({n_seeds} seeds)" if name != "audit" else f"\n{name} ({audit_trials} tamperings)")
        click.echo(table.to_string(index=False, float_format=lambda v: f"{v:.3g}"))


def _print_table(rows: list[tuple[str, str, str]]) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title="Evaluation against truth")
    for name in ("section", "metric", "value"):
        table.add_column(name, justify="right" if name == "value" else "left")
    for row in rows:
        table.add_row(*row)
    Console().print(table)


def _add_evaluation_to_report(scenario: Path, out: Path, rows: list[tuple[str, str, str]]) -> None:
    """Re-render OUT/report.html with the evaluation table and, when scores exist, the reliability curve."""
    from centinela.evaluate import reliability_curve
    from centinela.io.outputs import atomic_write_text, read_outputs
    from centinela.io.scenario import read_scenario
    from centinela.io.truth import read_truth
    from centinela.report import read_leak_table, render_report

    outputs = read_outputs(out)
    curve = reliability_curve(read_truth(scenario), outputs)
    html = render_report(read_scenario(scenario), outputs, metrics_rows=rows, reliability=curve,
                         leaks=read_leak_table(out))
    atomic_write_text(out / "report.html", html)


@main.command()
@click.option("--dir", "workdir", type=click.Path(file_okay=False, path_type=Path), default=Path("demo"),
              show_default=True, help="Folder for the demo scenario and its outputs.")
@click.option("--days", type=click.FloatRange(min=0.01, max=60), default=1.0, show_default=True)
@click.option("--seed", type=int, default=2026, show_default=True)
@click.option("--profile", type=click.Choice(["easy", "hard"]), default="easy", show_default=True)
@click.pass_context
def demo(ctx: click.Context, workdir: Path, days: float, seed: int, profile: str) -> None:
    """Simulate the default VRAEM scenario, analyse it, evaluate it, and say where everything is."""
    scenario, out = workdir / "scenario", workdir / "out"
    ctx.invoke(simulate, out=scenario, days=days, seed=seed, profile=profile, config=None)
    ctx.invoke(analyze, scenario=scenario, out=out, previous_airstrips=None)
    from centinela.alerts.commands_dispatch import dispatch_command
    from centinela.alerts.commands_leaks import leaks_command

    # Both find the scenario analyze recorded in OUT/run.json, and its own units register when the simulation
    # wrote one (--leaky-unit); else the packaged one.
    ctx.invoke(dispatch_command, out=out)
    ctx.invoke(leaks_command, outs=(out,), units_path=None)
    ctx.invoke(evaluate, scenario=scenario, out=out, as_json=False, report=True)
    click.echo(f"\nscenario: {scenario}\noutputs:  {out}\nreport:   {out / 'report.html'}")


@main.command()
@click.argument("source_url")
@click.argument("out", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--duration", "duration_s", type=click.FloatRange(min=0), default=None,
              help="Stop after this many seconds (default: until Ctrl-C).")
@click.option("--sensors", "sensors_toml", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="sensors.toml naming the radars (SAC/SIC) of an ASTERIX feed and the ADS-B receiver.")
def ingest(source_url: str, out: Path, duration_s: float | None, sensors_toml: Path | None) -> None:
    """Record a live feed (ADS-B or ASTERIX) into a file a scenario can use.

    \b
    SOURCE_URL is tcp://HOST:PORT?format=sbs|beast|hex or udp://HOST:PORT?format=asterix.
    The suffix of OUT picks the format: .sbs, .hex, .ast, .pcap as received, or .parquet decoded.
    Reconnects with back-off when the feed drops; the buffer is bounded (oldest data dropped, counted).

    Example:  centinela ingest "tcp://127.0.0.1:30005?format=beast" runs/live/adsb.hex --duration 600
    """
    from centinela.io.sensors import read_sensors_toml
    from centinela.sources import ingest as record

    sensors = read_sensors_toml(sensors_toml)[0] if sensors_toml else None
    receiver = next(((s.lat, s.lon) for s in sensors or [] if s.kind == "adsb"), None)
    stats = record(source_url, out, duration_s, sensors=sensors, reference=receiver)
    click.echo(f"recorded to {out}: {stats}")


def _add_optional_commands() -> None:
    """Commands whose modules bring heavier dependencies are added when importable."""
    from centinela.alerts.commands_audit import (
        audit_command,
        export_command,
        keys_command,
        verify_export_command,
    )
    from centinela.alerts.commands_dispatch import dispatch_command, trace_leak_command, widen_command
    from centinela.alerts.commands_leaks import leaks_command
    from centinela.assess.cli import train_command

    for command in (train_command, dispatch_command, widen_command, trace_leak_command, leaks_command,
                    audit_command, keys_command, export_command, verify_export_command):
        main.add_command(command)
    try:
        from centinela.server.cli import serve_command, users_command
    except ImportError:  # the operations centre's web dependencies are not installed
        return
    main.add_command(serve_command)
    main.add_command(users_command)


_add_optional_commands()

if __name__ == "__main__":
    main()
