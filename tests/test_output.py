"""plan.csv's text (optimizer/output.py): the direct join gives csv.writer's bytes exactly."""

from __future__ import annotations

import csv
import io
import random

from optimizer.output import csv_text


def _writer(header, rows):
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(header)
    w.writerows([list(r.values()) for r in rows])
    return buf.getvalue()


def test_csv_text_is_csv_writers_text_for_cells_that_need_quoting_or_not():
    rng = random.Random(7)
    pieces = ["a", ",", '"', "\n", "\r", " ", "", "x,y", "é"]
    quoted = 0
    for _ in range(2000):
        header = [f"c{i}" for i in range(rng.randint(2, 4))]
        rows = [{c: "".join(rng.choice(pieces) for _ in range(rng.randint(0, 2))) for c in header}
                for _ in range(rng.randint(0, 3))]
        assert csv_text(header, rows) == _writer(header, rows)
        quoted += '"' in _writer(header, rows)
    assert quoted > 500  # the fallback was exercised, not only the join


def test_csv_text_rows_of_another_length_or_non_strings_go_through_csv_writer():
    rows = [{"a": "1,2"}, {"a": "3", "b": "4"}]  # the first line has the header's number of commas
    assert csv_text(["a", "b"], rows) == 'a,b\n"1,2"\n3,4\n'
    assert csv_text(["a", "b"], [{"a": 1, "b": None}]) == "a,b\n1,\n"
