"""What a binary reader did with its input: every record it could not turn into a row is counted here.

Readers of real sensor formats never crash on a bad record: they skip it and count it (or, with
``strict=True``, raise :class:`centinela.errors.InputError` at the first one). The counters let a caller tell
a clean recording from a noisy one, and the first skipped record is described so it can be found.

>>> a = DecodeStats(records=3, rows=2, crc_failed=1, first_error="x.bin: byte 7: bad length")
>>> b = DecodeStats(records=2, rows=2)
>>> (a + b).records, (a + b).rows, (a + b).first_error
(5, 4, 'x.bin: byte 7: bad length')
>>> a.skipped
1
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, fields


@dataclass
class DecodeStats:
    """Counters of one decode run. ``records`` counts what the reader offered to the decoder (Mode S frames,
    ASTERIX records, text lines); every record ends up in ``rows`` or in exactly one of the skip counters,
    except that one record may also be dropped later as ``implausible``."""

    records: int = 0  # frames / records / lines offered
    rows: int = 0  # rows returned
    malformed: int = 0  # framing errors: bad lengths, truncated frames, bad hex, undecodable bytes
    crc_failed: int = 0  # Mode S parity failed (DF11/17/18)
    unknown_address: int = 0  # address/parity replies (DF0/4/5/16/20/21) from an address no checked frame showed
    unsupported: int = 0  # valid records carrying nothing the columns hold (Mode A/C, ES status, other categories)
    implausible: int = 0  # rows dropped by the plausibility checks (position jumps, speeds)
    unresolved_positions: int = 0  # position rows returned without lat/lon (no CPR partner or reference yet)
    unknown_sensor: int = 0  # ASTERIX records whose SAC/SIC names no sensor in sensors.toml
    first_error: str | None = None  # where the first malformed record is, for a human to look at

    @property
    def skipped(self) -> int:
        """Records that produced no row."""
        return self.malformed + self.crc_failed + self.unknown_address + self.unsupported + self.unknown_sensor

    def __add__(self, other: DecodeStats) -> DecodeStats:
        out = DecodeStats()
        for f in fields(self):
            if f.name == "first_error":
                out.first_error = self.first_error or other.first_error
            else:
                setattr(out, f.name, getattr(self, f.name) + getattr(other, f.name))
        return out

    def note_error(self, where: str) -> None:
        """Remember where the first malformed record was."""
        if self.first_error is None:
            self.first_error = where

    def as_dict(self) -> dict:
        return asdict(self)
