"""Click commands for need-to-know dispatch, added to ``centinela`` by the CLI: ``dispatch_command``
(``centinela dispatch``), ``widen_command`` (``centinela widen``) and ``trace_leak_command``
(``centinela trace-leak``).

Files in an outputs folder OUT (beside ``alerts.jsonl``):

- ``dispatch.csv`` — who received each alert and why (alerts.dispatch.DISPATCH_COLUMNS);
- ``copies.jsonl`` — the copies register: every copy's text and marks (what tracing reads; protect it like
  the alerts);
- ``copies/<unit_id>/<alert_id>.txt`` — each recipient's marked bulletin;
- ``audit.jsonl`` — one hash-chained entry per dispatch and per widening (alerts.audit).

Dispatching again keeps what was already sent: alerts already in ``dispatch.csv`` are not re-planned, and
existing copies are never remade (a copy in a recipient's hands must stay in the register).

The units register is ``--units`` when given, else ``--scenario DIR``'s own ``units.toml`` (the simulator writes
one with ``--leaky-unit``), else the packaged one (alerts.dispatch.choose_units_register); the command says which.
Without ``--scenario``, the scenario that ``analyze`` recorded in ``OUT/run.json`` is looked in.
"""
from __future__ import annotations

from pathlib import Path

import click

from centinela.errors import InputError

AUDIT_LOG = "audit.jsonl"


class Refused(click.ClickException):
    """A request the rules do not allow (widening without a second authorised person): exit code 2, like
    bad input, with the reason in one line."""

    exit_code = 2


def _out_option(f):
    return click.argument("out", type=click.Path(exists=True, file_okay=False, path_type=Path))(f)


units_option = click.option(
    "--units", "units_toml", type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Units register (TOML [[unit]] tables). Default: the scenario's units.toml (see --scenario), else the "
         "packaged VRAEM register.")
scenario_option = click.option(
    "--scenario", "scenario_dir", type=click.Path(exists=True, file_okay=False, path_type=Path),
    help="The scenario folder OUT was analysed from: its units.toml, when it has one, is the register "
         "(--units overrides it).")


@click.command("dispatch")
@_out_option
@units_option
@scenario_option
@click.option("--units-needed", type=click.IntRange(min=1), default=1, show_default=True,
              help="How many acting units each alert goes to (the fastest that can reach the site in time).")
@click.option("--acting", "acting_kinds", default="police", show_default=True,
              help="Comma-separated kinds of unit that act on the site.")
@click.option("--named", "named_kinds", default="prosecutor,command", show_default=True,
              help="Comma-separated roles that always receive the alerts in their area ('' for none).")
@click.option("--actor", default="centinela dispatch", show_default=True, help="Who dispatches (audit log).")
@click.option("--seed", type=int, default=None, help="Seed the marks (tests only: real marks must be secret).")
def dispatch_command(out: Path, units_toml: Path | None, units_needed: int, acting_kinds: str, named_kinds: str,
                     actor: str, seed: int | None, scenario_dir: Path | None = None) -> None:
    """Send each alert of OUT/alerts.jsonl to the smallest set of units that can act in time, plus the roles
    the policy names; write OUT/dispatch.csv, the copies register OUT/copies.jsonl and each recipient's
    marked bulletin OUT/copies/<unit>/<alert>.txt. An alert without a predicted site goes to the roles that
    do not depend on the site (the operations centre); one without an ETA skips the reach-in-time test.

    \b
    Example:  centinela dispatch runs/s1-out --scenario runs/s1
    """
    import pandas as pd

    from centinela.alerts.audit import AuditLog
    from centinela.alerts.dispatch import (
        DISPATCH_CSV,
        DispatchPolicy,
        choose_units_register,
        empty_dispatch,
        plan_dispatch,
        read_dispatch_csv,
        write_dispatch_csv,
    )
    from centinela.alerts.marking import COPIES_JSONL, add_copies
    from centinela.alerts.units import UNIT_KINDS, read_units
    from centinela.io.outputs import ALERTS, read_alerts_jsonl

    def kinds(text: str, option: str) -> tuple[str, ...]:
        names = tuple(k.strip() for k in text.split(",") if k.strip())
        unknown = [k for k in names if k not in UNIT_KINDS]
        if unknown:
            raise click.BadParameter(f"unknown kind(s) {unknown}; expected {', '.join(UNIT_KINDS)}",
                                     param_hint=option)
        return names

    policy = DispatchPolicy(acting_kinds=kinds(acting_kinds, "--acting"), units_needed=units_needed,
                            named_kinds=kinds(named_kinds, "--named"))
    if not (out / ALERTS).exists():
        raise InputError(out / ALERTS, "no alerts file; run `centinela analyze` first")
    alerts = read_alerts_jsonl(out / ALERTS)
    register = choose_units_register(units_toml, scenario_dir, out)
    units = read_units(register.path)
    click.echo(register.describe())
    before = read_dispatch_csv(out / DISPATCH_CSV) if (out / DISPATCH_CSV).exists() else empty_dispatch()
    fresh = alerts[~alerts["alert_id"].astype(str).isin(set(before["alert_id"].astype(str)))]
    planned = plan_dispatch(fresh, units, policy)
    dispatch = pd.concat([before, planned], ignore_index=True) if len(before) else planned
    copies = add_copies(out, alerts, dispatch, rng_seed=seed)
    write_dispatch_csv(dispatch, out / DISPATCH_CSV)
    log = AuditLog(out / AUDIT_LOG)
    refs = dict(zip(zip(copies["alert_id"], copies["unit_id"]), copies["copy_ref"], strict=True))
    for row in planned.itertuples():
        log.append("dispatch", actor, alert_id=row.alert_id, unit=row.unit_id, reason=row.reason,
                   copy_ref=refs.get((row.alert_id, row.unit_id)))
    click.echo(f"{len(fresh)} alert(s) dispatched ({len(alerts) - len(fresh)} already were): {len(planned)} "
               f"recipient copies -> {out / DISPATCH_CSV}, {out / COPIES_JSONL}")
    for alert_id, group in planned.groupby("alert_id", sort=False):
        click.echo(f"  {alert_id}: " + "; ".join(f"{r.unit_id} ({r.reason})" for r in group.itertuples()))
    for alert_id in sorted(set(fresh["alert_id"].astype(str)) - set(planned["alert_id"].astype(str))):
        click.secho(f"  {alert_id}: no recipient (the policy and register choose nobody for it); give it to a unit "
                    "with `centinela widen`", fg="yellow")


@click.command("widen")
@_out_option
@click.argument("alert_id")
@click.argument("unit_id")
@click.option("--requested-by", required=True, help="Who asks for the wider distribution.")
@click.option("--approved-by", required=True, help="A second, authorised person who approves it.")
@click.option("--reason", required=True, help="Why the unit must receive the alert (kept in dispatch and audit).")
@units_option
@scenario_option
@click.option("--authorised", "authorised", multiple=True,
              help="Who may approve (repeat). Default: the register's `approvers` list.")
@click.option("--seed", type=int, default=None, help="Seed the new copy's marks (tests only).")
def widen_command(out: Path, alert_id: str, unit_id: str, requested_by: str, approved_by: str, reason: str,
                  units_toml: Path | None, authorised: tuple[str, ...], seed: int | None,
                  scenario_dir: Path | None = None) -> None:
    """Give ALERT_ID to one more unit, UNIT_ID: needs a second authorised person and a reason. Adds the row to
    OUT/dispatch.csv, the unit's marked copy to the register, and an audit entry.

    \b
    Example:  centinela widen runs/s1-out A0003-F11033 CE-VRAEM --requested-by ana \\
                --approved-by jefe.ops.vraem --reason "army helicopter needed: no police helicopter free"
    """
    from centinela.alerts.audit import AuditLog
    from centinela.alerts.dispatch import (
        DISPATCH_CSV,
        choose_units_register,
        read_dispatch_csv,
        widen,
        write_dispatch_csv,
    )
    from centinela.alerts.marking import add_copies
    from centinela.alerts.units import read_register
    from centinela.io.outputs import ALERTS, read_alerts_jsonl

    if not (out / DISPATCH_CSV).exists():
        raise InputError(out / DISPATCH_CSV, "no dispatch yet; run `centinela dispatch` first")
    units, register_approvers = read_register(choose_units_register(units_toml, scenario_dir, out).path)
    approvers = list(authorised) or register_approvers
    dispatch = read_dispatch_csv(out / DISPATCH_CSV)
    log = AuditLog(out / AUDIT_LOG)
    try:
        wider = widen(dispatch, alert_id, unit_id, requested_by=requested_by, approved_by=approved_by,
                      reason=reason, authorised=approvers, units=units)
    except PermissionError as e:
        log.append("widen_refused", requested_by, alert_id=alert_id, unit=unit_id, approved_by=approved_by,
                   reason=reason, why=str(e))
        raise Refused(f"refused: {e}") from None
    alerts = read_alerts_jsonl(out / ALERTS)
    new = add_copies(out, alerts, wider.iloc[[-1]], rng_seed=seed)
    write_dispatch_csv(wider, out / DISPATCH_CSV)
    log.append("widen", requested_by, alert_id=alert_id, unit=unit_id, approved_by=approved_by, reason=reason,
               copy_ref=str(new["copy_ref"].iloc[0]))
    click.echo(f"{alert_id} now also goes to {unit_id} (requested by {requested_by}, approved by {approved_by}); "
               f"copy {new['copy_ref'].iloc[0]} -> {out / 'copies' / unit_id}")


@click.command("trace-leak")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--copies", "copies_path", required=True, type=click.Path(dir_okay=False, path_type=Path),
              help="The copies register (OUT/copies.jsonl).")
@click.option("--top", type=click.IntRange(min=1), default=5, show_default=True, help="How many copies to list.")
def trace_leak_command(file: Path, copies_path: Path, top: int) -> None:
    """Which recipient's copy FILE (a leaked text: full, a fragment, retyped or transcribed; '-' for stdin)
    most likely came from, with likelihood ratios — or "too small to tell".

    \b
    Example:  centinela trace-leak leaked.txt --copies runs/s1-out/copies.jsonl
    """
    from centinela.alerts.marking import read_copies
    from centinela.alerts.trace import trace_leak

    if str(file) == "-":
        text = click.get_text_stream("stdin").read()
    else:
        try:
            text = file.read_text(encoding="utf-8", errors="replace")
        except FileNotFoundError:
            raise InputError(file, "file not found; expected the leaked text") from None
    result = trace_leak(text, read_copies(copies_path))
    click.echo(result.summary())
    if result.verdict == "too small to tell" and result.n_marks == 0:
        return
    click.echo(f"{'unit':<24} {'alert':<16} {'log10 LR':>9} {'posterior':>10}")
    for row in result.ranking.head(top).itertuples():
        click.echo(f"{row.unit_id:<24} {row.alert_id:<16} {row.log10_lr:>9.1f} {row.posterior:>10.3g}")
