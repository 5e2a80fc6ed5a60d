"""Click commands of the operations centre, added to the main ``centinela`` group by ``centinela.cli``:
``serve_command`` (``centinela serve``) and ``users_command`` (``centinela users add|list|disable``)."""
from __future__ import annotations

from pathlib import Path

import click

from centinela.server import (
    DEFAULT_DB,
    DEFAULT_HOST,
    DEFAULT_PORT,
    DEFAULT_SPEED,
    serve,
)

# centinela.store.ROLES, spelled out so that `centinela --help` does not load the database stack
# (tests/test_server.py checks the two agree).
ROLE_CHOICES = ("operator", "analyst", "admin")

db_option = click.option("--db", default=DEFAULT_DB, show_default=True, envvar="CENTINELA_DB",
                         help="SQLite file, or a SQLAlchemy URL such as postgresql+psycopg://user@host/db "
                              "(env CENTINELA_DB).")


@click.command("serve")
@db_option
@click.option("--replay", "replay", type=click.Path(exists=True, file_okay=False, path_type=Path),
              help="An outputs folder of `centinela analyze`, or a scenario folder (analysed first), to replay "
                   "in time order.")
@click.option("--sample", is_flag=True, help="Replay the small hand-made sample picture instead.")
@click.option("--speed", type=click.FloatRange(min=0.01), default=DEFAULT_SPEED, show_default=True,
              help="Replay speed: simulated seconds per wall-clock second.")
@click.option("--start", help="Where the replay's clock starts: HH:MM (UTC, on the first day of the data) or an "
                             "ISO 8601 time. Default: the first track update.")
@click.option("--loop", is_flag=True, help="Start the replay over when it ends.")
@click.option("--dispatch-to", "dispatch_to", multiple=True,
              help="Override the dispatch: every alert goes to this unit (repeat for several). Default: the "
                   "recipients and marked copies `centinela dispatch` recorded in the replayed folder, else the "
                   "dispatch policy over --units.")
@click.option("--host", default=DEFAULT_HOST, show_default=True)
@click.option("--port", type=int, default=DEFAULT_PORT, show_default=True)
@click.option("--secure-cookies", is_flag=True, help="HTTPS-only session cookie (behind a TLS proxy).")
@click.option("--signing-key", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="Ed25519 private key (PEM, `centinela keys generate`) that signs exports and audit checkpoints.")
@click.option("--units", "units_path", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="Units register (TOML): the dispatch policy's recipients, their clearances and the approvers "
                   "of widenings. Default: the replayed folder's units.toml, else that of the scenario it "
                   "was analysed from (run.json), else the packaged one.")
def serve_command(db: str, replay: Path | None, sample: bool, speed: float, start: str | None, loop: bool,
                  dispatch_to: tuple[str, ...], host: str, port: int, secure_cookies: bool,
                  signing_key: Path | None, units_path: Path | None) -> None:
    """Run the operations centre: web map at http://HOST:PORT/, API docs at /docs.

    \b
    Example:
      centinela users add ana --role analyst --unit VRAEM-OPS      # the operations centre's unit
      centinela serve --replay runs/s1-out --speed 60 --start 09:30
    """
    if replay is not None and sample:
        raise click.UsageError("give either --replay or --sample")
    click.echo(f"Centinela operations centre on http://{host}:{port}/  (API docs: /docs; Ctrl-C stops)")
    serve(db, replay=replay, sample=sample, speed=speed, start=start, loop=loop, host=host, port=port,
          dispatch_to_units=dispatch_to, secure_cookies=secure_cookies, signing_key=signing_key,
          units_path=units_path)


@click.group("users")
def users_command() -> None:
    """Manage the operations centre's users (roles: operator, analyst, admin)."""


@users_command.command("add")
@click.argument("username")
@click.option("--role", type=click.Choice(ROLE_CHOICES), required=True)
@click.option("--unit", required=True, help="The user's unit: alerts dispatched to it reach the user.")
@click.option("--password", prompt=True, hide_input=True, confirmation_prompt=True, envvar="CENTINELA_PASSWORD",
              help="Asked for when not given (env CENTINELA_PASSWORD).")
@click.option("--if-missing", is_flag=True, help="Do nothing when the user exists (for scripts such as make demo).")
@db_option
def users_add(username: str, role: str, unit: str, password: str, if_missing: bool, db: str) -> None:
    """Create user USERNAME."""
    from centinela.store import Store, add_user

    store = Store(db)
    if if_missing and username in set(store.users()["username"]):
        click.echo(f"user {username} exists in {db}: left as it is")
        return
    try:
        add_user(store, username, password, role=role, unit=unit)
    except ValueError as e:
        raise click.ClickException(str(e)) from None
    click.echo(f"user {username} ({role}, unit {unit}) added to {db}")


@users_command.command("list")
@db_option
def users_list(db: str) -> None:
    """List the users (name, role, unit, active)."""
    from centinela.store import Store

    for row in Store(db).users().itertuples():
        click.echo(f"{row.username:<20} {row.role:<9} {row.unit:<20} {'active' if row.active else 'disabled'}")


@users_command.command("disable")
@click.argument("username")
@db_option
def users_disable(username: str, db: str) -> None:
    """Disable USERNAME and end the user's sessions."""
    from centinela.store import Store

    try:
        Store(db).set_active(username, False)
    except KeyError as e:
        raise click.ClickException(str(e.args[0])) from None
    click.echo(f"user {username} disabled")
