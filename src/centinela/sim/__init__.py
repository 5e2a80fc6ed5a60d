"""The VRAEM scenario simulator: the ground truth every capability is scored on.

``simulate(out, days=1.0, seed=0, profile="easy")`` writes a scenario folder — the contract's inputs
(sensors.toml, plots.jsonl, adsb.sbs, observations.jsonl, flightplans.csv) and ``truth/`` — from a
synthetic VRAEM: terrain, the air bridge and its confounders (army helicopters, mission and bush planes,
general aviation, airliners), and the sensors that see them. ``default_config(profile)`` lists every
parameter; ``docs/simulator.md`` says what is modelled and what is not.

>>> cfg = default_config("hard")
>>> cfg["narco"]["flights_per_day"]
4.0
"""
from centinela.sim.config import default_config, resolve_config
from centinela.sim.scenario import simulate

__all__ = ["default_config", "resolve_config", "simulate"]
