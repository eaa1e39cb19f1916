"""The short benchmark run (`make bench` runs the long one): it completes and prints
plausible wire figures."""

import re
import subprocess
import sys


def test_quick_bench_prints_wire_figures():
    r = subprocess.run([sys.executable, "-m", "sesame_tools.devtools.bench", "--quick"],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stdout + r.stderr
    rows = {m[0]: m for m in re.findall(r"^  (T=\d)\s+(\d+)/(\d+)\s+(\d+)\s+(\d+)\s+(\d+)\s+(\d+)\s+([\d.]+)",
                                         r.stdout, re.M)}
    assert set(rows) == {"T=0", "T=1"}, r.stdout
    for name, f, d, sent, recv, etu, resent, ms in rows.values():
        assert (f, d) == ("372", "1")
        assert int(etu) == 12 * (int(sent) + int(recv))  # no extra guard time on these cards
        assert 100 < float(ms) < 2000  # ~400 characters at 93 us per etu
