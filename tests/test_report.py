"""report.html: one self-contained page with the day's summary, the alerts and their reasons, a map, and, when
truth exists, the evaluation table and the reliability curve."""
from __future__ import annotations

import re
import shutil

from click.testing import CliRunner

from centinela.cli import main
from centinela.report import render_report
from centinela.server.sample import sample_outputs


def external_references(page: str) -> list[str]:
    """src/href values that would need a network (or a file beside the page) to show."""
    refs = re.findall(r"""(?:src|href)\s*=\s*['"]([^'"]+)['"]""", page)
    return [r for r in refs if not r.startswith(("data:", "#"))]


def test_the_evaluated_report_stands_alone_with_every_part(small_scenario, small_analysis, tmp_path):
    out = tmp_path / "out"
    shutil.copytree(small_analysis, out)
    result = CliRunner().invoke(main, ["evaluate", str(small_scenario), str(out)])
    assert result.exit_code == 0, result.output
    page = (out / "report.html").read_text(encoding="utf-8")
    assert external_references(page) == [], "the report opens offline, from one file"
    for heading in ("Summary", "Alerts", "Map", "Evaluation against truth", "Reliability of scores"):
        assert f"<h2>{heading}</h2>" in page, heading
    assert page.count("src='data:image/png;base64,") >= 2, "the map and the reliability curve are embedded"
    assert "never recommends the use of force" in page


def test_each_alert_is_listed_with_its_reasons_and_site_uncertainty():
    outputs = sample_outputs()
    alert = outputs.alerts.iloc[0]
    outputs.alerts = outputs.alerts.assign(sigma_site_m=12_000.0, site_probability=0.04)
    page = render_report(None, outputs)
    row = page[page.index(f"<td>{alert['alert_id']}</td>"):]
    row = row[:row.index("</tr>")]
    assert alert["indicators"][0] in row, "the alert says why it was raised"
    assert "±12.0 km (1σ)" in row and "4% chance within 2 km" in row
