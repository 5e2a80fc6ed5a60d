"""Real sample data that installed packages ship, for the tests of centinela.sources.

- pyModeS: the real Mode S / ADS-B messages of its README (shipped as the package's metadata description).
- asterix-decoder: its sample recordings (a real CAT048 record, CAT034, and a capture of a live CAT034/CAT048
  UDP stream from several radars).

Each helper skips the calling test with the reason when the package is absent.
"""
from __future__ import annotations

import importlib.metadata
import re
from pathlib import Path

import pytest


def pymodes_readme_messages() -> list[str]:
    """The distinct Mode S messages (hex) quoted in pyModeS's README, in order of appearance."""
    try:
        text = importlib.metadata.metadata("pyModeS").json.get("description", "")
    except importlib.metadata.PackageNotFoundError:
        pytest.skip("pyModeS is not installed (pip install pyModeS)")
    found = re.findall(r'"([0-9A-Fa-f]{28}|[0-9A-Fa-f]{14})"', text)
    if len(found) < 4:
        pytest.skip("pyModeS's README no longer quotes sample messages")
    return list(dict.fromkeys(m.upper() for m in found))


def asterix_module():
    return pytest.importorskip("asterix", reason="asterix-decoder is not installed (pip install asterix-decoder)")


def asterix_sample(name: str) -> Path:
    """Path of one of asterix-decoder's sample files (cat048.raw, cat034.raw, cat_034_048.pcap, ...)."""
    path = Path(asterix_module().get_sample_file(name))
    if not path.exists():
        pytest.skip(f"asterix-decoder does not ship {name}")
    return path


def test_the_real_samples_are_found():
    messages = pymodes_readme_messages()
    assert all(len(m) in (14, 28) for m in messages) and len(messages) >= 4
    assert asterix_sample("cat_034_048.pcap").stat().st_size > 1000
