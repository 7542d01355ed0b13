"""Peak memory and time of reading a large CSV file with `--csv` (issue 19: a 200 MB CSV must be
read in well under 1 GB; it took 2.24 GB).

    .venv/bin/python tests/benchmarks/csv_memory.py              # 200 MB, 10 numeric columns
    .venv/bin/python tests/benchmarks/csv_memory.py --mb 50 --messy

A file of about --mb megabytes (random normal values printed with 6 significant digits) is
written to a temporary folder; a fresh process imports nnhw's reader, then reads the file with
experiments.data.csvfile.read_csv, and reports its peak resident memory (ru_maxrss) after the
imports and after the read, and the read's wall time. --messy appends a row of empty fields, which
sends the file down the row-by-row reader (the path every malformed file takes to its message).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

CHILD = """
import json, resource, sys, time
from nnhw.experiments.data.csvfile import read_csv
import pandas  # the fast path's parser, imported before measuring the baseline
base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
t = time.perf_counter()
ds = read_csv(sys.argv[1], "y", "regression")
seconds = time.perf_counter() - t
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(json.dumps({"rows": ds.n_samples, "data_mb": ds.X.nbytes / 1e6 + ds.y.nbytes / 1e6,
                  "base_mb": base / 1024, "peak_mb": peak / 1024, "seconds": seconds}))
"""


def write_csv(path: Path, megabytes: float, columns: int = 10, messy: bool = False) -> int:
    """A CSV of about `megabytes` MB; its size in bytes."""
    rng = np.random.default_rng(0)
    size = 0
    with path.open("w") as f:
        f.write(",".join([f"x{i}" for i in range(columns - 1)] + ["y"]) + "\n")
        while size < megabytes * 1e6:
            block = rng.standard_normal((10_000, columns))
            text = "\n".join(",".join(f"{v:.6g}" for v in row) for row in block) + "\n"
            f.write(text)
            size += len(text)
        if messy:
            f.write("," * (columns - 1) + "\n")
    return path.stat().st_size


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--mb", type=float, default=200.0, help="size of the file (MB)")
    parser.add_argument("--messy", action="store_true", help="force the row-by-row reader")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "big.csv"
        size = write_csv(path, args.mb, messy=args.messy)
        out = subprocess.run(
            [sys.executable, "-c", CHILD, str(path)], capture_output=True, text=True, check=True
        )
    r = json.loads(out.stdout)
    print(
        f"{size / 1e6:.0f} MB CSV, {r['rows']:,} rows ({r['data_mb']:.0f} MB as float64): "
        f"peak RSS {r['peak_mb']:.0f} MB ({r['base_mb']:.0f} MB after the imports), "
        f"read in {r['seconds']:.1f} s" + (" (row-by-row reader)" if args.messy else "")
    )


if __name__ == "__main__":
    main()
