"""``centinela leaks OUT [OUT ...]``: each recipient's posterior leak probability from one or more runs.

Reads, from every OUT, ``alerts.jsonl``, ``events.jsonl``, ``tracks.parquet`` (optional: it tells a flight that
turned back from one that vanished) and ``dispatch.csv`` (written by ``centinela dispatch``); decides what became
of each alerted flight (:func:`centinela.alerts.outcomes.alert_outcomes`) and fits the leak model
(:func:`centinela.alerts.leaks.leak_posteriors`). Writes ``leaks.csv`` (the table printed) and
``alert_outcomes.csv`` into the first OUT, or into ``--to``.
"""
from __future__ import annotations

from pathlib import Path

import click
import pandas as pd

from centinela.errors import InputError

LEAKS_CSV, OUTCOMES_CSV = "leaks.csv", "alert_outcomes.csv"


def leak_report(out_dirs: list[Path], units: pd.DataFrame | None = None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(posteriors, outcomes) over the runs in ``out_dirs``. With several runs, alert ids are prefixed with the
    run's position (``2:A0001-F9460``) so that runs' alerts never merge."""
    from centinela.alerts.dispatch import DISPATCH_CSV, read_dispatch_csv
    from centinela.alerts.leaks import leak_posteriors
    from centinela.alerts.outcomes import alert_outcomes
    from centinela.io.outputs import read_alerts_jsonl, read_events_jsonl, read_tracks_parquet

    outcome_frames, dispatch_frames = [], []
    for k, out in enumerate(out_dirs, start=1):
        out = Path(out)
        for name in ("alerts.jsonl", "events.jsonl"):
            if not (out / name).exists():
                raise InputError(out / name, "file not found: run `centinela analyze` into this folder first")
        if not (out / DISPATCH_CSV).exists():
            raise InputError(out / DISPATCH_CSV, "file not found: run `centinela dispatch` on this folder first")
        tracks = read_tracks_parquet(out / "tracks.parquet") if (out / "tracks.parquet").exists() else None
        outcomes = alert_outcomes(read_alerts_jsonl(out / "alerts.jsonl"), read_events_jsonl(out / "events.jsonl"),
                                  tracks)
        dispatch = read_dispatch_csv(out / DISPATCH_CSV)
        if len(out_dirs) > 1:
            outcomes["alert_id"] = f"{k}:" + outcomes["alert_id"].astype(str)
            dispatch["alert_id"] = f"{k}:" + dispatch["alert_id"].astype(str)
        outcomes.insert(0, "run", str(out))
        outcome_frames.append(outcomes)
        dispatch_frames.append(dispatch)
    outcomes = pd.concat(outcome_frames, ignore_index=True)
    dispatch = pd.concat(dispatch_frames, ignore_index=True)
    return leak_posteriors(dispatch, outcomes, units), outcomes


@click.command("leaks")
@click.argument("outs", nargs=-1, required=True, type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--units", "units_path", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="The unit register (units.toml); default: the one `dispatch` would use for the first OUT (its "
                   "scenario's units.toml, else the packaged one). Lists units that received nothing.")
@click.option("--to", "to", type=click.Path(file_okay=False, path_type=Path),
              help="Folder for leaks.csv and alert_outcomes.csv (default: the first OUT).")
def leaks_command(outs: tuple[Path, ...], units_path: Path | None, to: Path | None) -> None:
    """Each recipient's posterior leak probability, from the runs OUT ... (alerts, events, dispatch).

    A unit is flagged only on strong evidence (Bayes factor >= 10 and at least 3 alerts that did not reach
    it); see docs/need_to_know.md, "Leak statistics".

    Example:  centinela leaks runs/week1-out runs/week2-out --units units.toml
    """
    from centinela.alerts.dispatch import choose_units_register
    from centinela.alerts.leaks import write_leaks_csv
    from centinela.alerts.units import read_units

    register = choose_units_register(units_path, None, outs[0])
    click.echo(register.describe())
    units = read_units(register.path)
    posteriors, outcomes = leak_report(list(outs), units)
    folder = to or outs[0]
    folder.mkdir(parents=True, exist_ok=True)
    write_leaks_csv(posteriors, folder / LEAKS_CSV)
    outcomes.to_csv(folder / OUTCOMES_CSV, index=False, lineterminator="\n")
    counts = outcomes["outcome"].value_counts()
    click.echo(f"{len(outcomes)} alerts: " + ", ".join(f"{counts.get(o, 0)} {o}" for o in
                                                        ("arrived", "aborted", "diverted", "unknown")))
    shown = posteriors[posteriors["n_shared"] > 0]
    click.echo(f"{'unit':<26} {'leak mean [90%]':<20} {'P(leaks)':>8} {'BF':>9} {'failed/shared':>14} "
               f"{'failed/not':>11}  flag")
    for r in shown.itertuples():
        click.echo(f"{r.unit_id:<26} {r.leak_mean:.2f} [{r.leak_lo:.2f}, {r.leak_hi:.2f}]     {r.p_leaks:8.2f} "
                   f"{r.bayes_factor:9.3g} {f'{r.n_failed_shared}/{r.n_shared}':>14} "
                   f"{f'{r.n_failed_not_shared}/{r.n_not_shared}':>11}  {'FLAGGED' if r.flagged else ''}"
                   + (f"  ({r.note})" if r.note else ""))
    flagged = posteriors.loc[posteriors["flagged"], "unit_id"].tolist()
    click.echo("flagged: " + (", ".join(flagged) if flagged else "none (no unit with strong evidence)"))
    click.echo(f"written: {folder / LEAKS_CSV}, {folder / OUTCOMES_CSV}")
