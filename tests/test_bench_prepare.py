"""bench/prepare.py: it runs end to end and writes what it printed, and it measures the driver's
RUN line as the driver builds it."""
from __future__ import annotations

import sys

from app.db import Rows
from bench import prepare


def test_the_run_line_carries_every_row_of_a_plain_map_and_none_of_rows():
    rows = {"events": [{"props": {"messageId": f"m{n}"}} for n in range(100)]}
    assert "m99" in prepare.run_line({"batch": rows})
    assert "m99" not in prepare.run_line({"batch": Rows(rows)})


def test_it_writes_its_figures(monkeypatch):
    written = {}
    monkeypatch.setattr(prepare, "write_results", lambda name, figures: written.update(name=name, **figures))
    monkeypatch.setattr(sys, "argv", ["prepare.py", "--rounds", "2", "--messages", "300"])
    prepare.main()
    assert written["name"] == "prepare" and written["messages"] == 300
    for key in ("prepare_batch_us_per_message", "prepare_single_us_per_call", "run_line_plain_us_per_message"):
        assert written[key] > 0
    assert written["run_line_plain_us_per_message"] > written["run_line_rows_us_per_message"]
