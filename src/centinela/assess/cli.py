"""``centinela train``: rebuild the shipped assessment model (the lead adds :data:`train_command` to the CLI)."""
from __future__ import annotations

import json
from pathlib import Path

import click

DEFAULT_SEEDS = "10000-10007"


@click.command("train")
@click.option("--seeds", default=DEFAULT_SEEDS, show_default=True,
              help="Training seeds (ranges and lists: 10000-10009,10020); each is simulated in every profile. "
                   "Must be >= 10000: smaller seeds are kept for tests and evaluation.")
@click.option("--out", "out", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Where to write the model (default: the model shipped with the package).")
@click.option("--days", type=click.FloatRange(min=0.05, max=30), default=2.0, show_default=True,
              help="Length of each training scenario in days (a second day holds flights to strips already "
                   "in the catalogue, which the warning must learn to point at).")
@click.option("--profile", "profiles", multiple=True, type=click.Choice(["easy", "hard"]),
              default=("easy", "hard"), show_default=True, help="Simulator profiles to train on (repeatable).")
@click.option("--workers", type=click.IntRange(min=1), default=2, show_default=True,
              help="Scenarios simulated and analysed in parallel (the model does not depend on it).")
def train_command(seeds: str, out: Path | None, days: float, profiles: tuple[str, ...], workers: int) -> None:
    """Simulate training scenarios, run the analysis on them and fit the assessment model.

    The same seeds give the same model file, byte for byte. Prints the training metrics as JSON.

    Example:  centinela train --seeds 10000-10009 --out /tmp/model.json
    """
    from centinela.assess import shipped_model_path, train
    from centinela.assess.training import parse_seeds
    from centinela.cli import progress_bars

    target = out or shipped_model_path()
    with progress_bars() as progress:
        metrics = train(parse_seeds(seeds), target, days=days, profiles=profiles, progress=progress,
                        workers=workers)
    click.echo(json.dumps(metrics, indent=2))
    click.echo(f"model written to {target}")
