"""Training is reproducible: the same seeds give the same model file, byte for byte (tiny setting)."""
from __future__ import annotations

import json

import pytest

from centinela.assess import train
from centinela.assess.scoring import ModelFile
from centinela.assess.training import parse_seeds

# Two and a half hours around dawn (10:00 UTC = 05:00 local) hold air-bridge landings and a few confounders.
TINY = {"days": 0.1, "profiles": ("easy",), "sim_config": {"start": "2026-06-01T10:00:00Z"}}


def test_same_seeds_give_the_same_model(tmp_path):
    first = train([10_000], tmp_path / "a.json", **TINY)
    second = train([10_000], tmp_path / "b.json", **TINY)
    assert (tmp_path / "a.json").read_bytes() == (tmp_path / "b.json").read_bytes()
    assert first["model_sha256"] == second["model_sha256"]
    model = ModelFile.load(tmp_path / "a.json")
    assert model.info["seeds"] == [10_000]
    assert len(model.flight.coef) == len(model.flight.features)
    assert json.loads((tmp_path / "a.json").read_text())["format"] == "centinela-assess-model/1"


def test_training_refuses_evaluation_seeds(tmp_path):
    with pytest.raises(ValueError, match="10000"):
        train([7], tmp_path / "m.json", **TINY)


def test_seed_ranges_parse():
    assert parse_seeds("10000-10002,10010") == [10_000, 10_001, 10_002, 10_010]


def test_train_command_explains_itself():
    from click.testing import CliRunner

    from centinela.assess.cli import train_command

    result = CliRunner().invoke(train_command, ["--help"])
    assert result.exit_code == 0
    assert "--seeds" in result.output and "Example" in result.output
