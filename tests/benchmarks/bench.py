"""nnhw's benchmark: side-by-side training times against the NumPy limit, PyTorch, scikit-learn and
compiled JAX, checked against the targets of issues 2 and 10.

    make bench                                   # or: .venv/bin/python tests/benchmarks/bench.py
    .venv/bin/python tests/benchmarks/bench.py --quick          # smoke run, about a minute
    .venv/bin/python tests/benchmarks/bench.py --only small,startup --rounds 9

Every contender of a workload runs in this one process, interleaved: each round runs all of them
once, starting with a different one each round, after one untimed warm-up run each (JIT compiles,
caches). Each timed run starts from freshly built state (`prepare`, untimed). The table gives the
median over rounds, the time per net and optimiser step, and the ratio to the workload's reference.
The tables are written as CSV and Markdown to results/bench-<date>.{csv,md}.
"""

from __future__ import annotations

import argparse
import gc
import math
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:  # run as a script: make `core` and `tests.benchmarks` importable
    sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402

from tests.benchmarks import frameworks as fw  # noqa: E402
from tests.benchmarks import studies  # noqa: E402
from tests.benchmarks import workloads as wl  # noqa: E402
from tests.benchmarks.report import Row, render, write_results  # noqa: E402

GROUPS = ("small", "large", "ensemble", "compare", "startup", "verify")
Workload = tuple[str, str, list[wl.Contender]]  # name, reference contender, contenders


def time_contenders(
    contenders: list[wl.Contender], rounds: int, warmup: bool = True
) -> dict[str, list[float]]:
    """Seconds per run of each contender: one warm-up each, then `rounds` interleaved rounds."""
    for c in contenders if warmup else []:
        c.prepare()()
    times: dict[str, list[float]] = {c.name: [] for c in contenders}
    for r in range(rounds):
        k = r % len(contenders)
        for c in contenders[k:] + contenders[:k]:
            run = c.prepare()
            gc.collect()
            gc.disable()
            t0 = time.perf_counter()
            run()
            times[c.name].append(time.perf_counter() - t0)
            gc.enable()
    return times


def small_workloads(quick: bool) -> list[Workload]:
    out = []
    for net in (wl.SMALL_RELU, wl.SMALL_SIGMOID):
        net = replace(net, epochs=2) if quick else net
        data = wl.make_data(net)
        contenders = [
            wl.numpy_contender(net, data), wl.nnhw_contender(net, data),
            wl.nnhw_fit_contender(net, data), fw.torch_contender(net, data),
            fw.sklearn_contender(net, data), fw.jax_contender(net, data),
        ]  # fmt: skip
        out.append((net.name, "numpy", contenders))
    return out


def large_workloads(quick: bool) -> list[Workload]:
    out = []
    for dtype in ("float32", "float64"):
        net = replace(wl.LARGE, name=f"large-{dtype}", dtype=dtype)
        net = replace(net, n=2560) if quick else net
        data = wl.make_data(net)
        contenders = [
            wl.numpy_contender(net, data), wl.nnhw_contender(net, data),
            wl.nnhw_fit_contender(net, data), fw.torch_contender(net, data),
            fw.sklearn_contender(net, data), fw.jax_contender(net, data),
        ]  # fmt: skip
        out.append((net.name, "numpy", contenders))
    return out


def ensemble_workloads(quick: bool) -> list[Workload]:
    out = []
    net = replace(wl.SMALL_RELU, epochs=1) if quick else wl.SMALL_RELU
    data = wl.make_data(net)
    for E in (20, 100):
        contenders = [
            wl.nnhw_contender(net, data, members=E), wl.nnhw_separate_contender(net, data, runs=E),
            wl.numpy_contender(net, data, runs=E), fw.jax_contender(net, data, members=E),
            fw.jax_contender(net, data),
        ]  # fmt: skip
        out.append((f"ensemble-{E}", f"nnhw x{E} separate", contenders))
    return out


def compare_workloads(quick: bool) -> list[Workload]:
    return [
        ("compare-activations", "nnhw, 1 worker", studies.compare_activations_contenders(quick)),
        ("compare-activations-8-cells", "nnhw, 1 worker",
         studies.compare_activations_sweep_contenders(quick, "1,2")),
        ("compare-activations-12-cells", "nnhw, 1 worker",
         studies.compare_activations_sweep_contenders(quick, "1,2,4")),
    ]  # fmt: skip


BUILDERS: dict[str, Callable[[bool], list[Workload]]] = {
    "small": small_workloads,
    "large": large_workloads,
    "ensemble": ensemble_workloads,
    "compare": compare_workloads,
}


def measure(workload: Workload, rounds: int) -> list[Row]:
    name, reference, contenders = workload
    whole_commands = all(c.steps == 0 for c in contenders)
    if whole_commands:  # subprocesses of several seconds: no warm-up, at most 3 rounds
        rounds = min(rounds, 3)
    with np.errstate(all="ignore"):  # same floating-point state for every contender
        times = time_contenders(contenders, rounds, warmup=not whole_commands)
    per_step = {
        c.name: statistics.median(times[c.name]) / (c.steps * c.nets) * 1e6 if c.steps else math.nan
        for c in contenders
    }
    # ratios compare time per net and step, or whole runs for whole commands
    value = {c.name: per_step[c.name] if c.steps else statistics.median(times[c.name])
             for c in contenders}  # fmt: skip
    return [
        Row(
            workload=name,
            contender=c.name,
            nets=c.nets,
            steps=c.steps,
            rounds=rounds,
            median_s=statistics.median(times[c.name]),
            min_s=min(times[c.name]),
            per_net_step_us=per_step[c.name],
            vs_reference=value[c.name] / value[reference],
            reference=reference,
        )
        for c in contenders
    ]


def startup_rows(runs: int) -> list[Row]:
    """Median wall time of `nnhw --help` and of `python -c "import numpy, typer"`, as fresh
    subprocesses run alternately (one untimed warm-up each for the file cache)."""
    nnhw = studies.nnhw_executable()
    commands = {
        "nnhw --help": [nnhw, "--help"],
        "python -c 'import numpy, typer'": [sys.executable, "-c", "import numpy, typer"],
    }
    times: dict[str, list[float]] = {name: [] for name in commands}
    for i in range(runs + 1):
        for name, cmd in commands.items():
            t0 = time.perf_counter()
            subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            if i:
                times[name].append(time.perf_counter() - t0)
    reference = "python -c 'import numpy, typer'"
    med = {name: statistics.median(t) for name, t in times.items()}
    return [
        Row("startup", name, 1, 0, runs, med[name], min(t), math.nan, med[name] / med[reference],
            reference)
        for name, t in times.items()
    ]  # fmt: skip


def verify_rows(runs: int) -> list[Row]:
    """Median wall time of the default `nnhw verify` (figures and report included), as fresh
    subprocesses into a temporary folder, after one untimed warm-up (the file cache, PyTorch's
    import). Issue 16's target is absolute: about 30 s on the 2-core machine."""
    cmd = [studies.nnhw_executable(), "verify", "--quiet"]
    times: list[float] = []
    for i in range(runs + 1):
        with tempfile.TemporaryDirectory(prefix="nnhw-bench-verify-") as out:
            t0 = time.perf_counter()
            subprocess.run([*cmd, "--out", out], check=True, stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL)  # fmt: skip
            if i:
                times.append(time.perf_counter() - t0)
    med = statistics.median(times)
    return [Row("verify", "nnhw verify", 1, 0, runs, med, min(times), math.nan, 1.0,
                "nnhw verify")]  # fmt: skip


def limit_threads(n: int) -> None:
    """At most n threads for NumPy's BLAS, torch and XLA, here and in subprocesses (jax must not
    be imported yet)."""
    import torch
    from threadpoolctl import threadpool_limits

    threadpool_limits(limits=n)  # process-wide, for the rest of the run
    wl.NNHW_THREADS = n  # nnhw's ensemble split (core.train.train_epoch threads)
    torch.set_num_threads(n)
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS"):  # the subprocess contenders
        os.environ[var] = str(n)
    if n == 1:
        flags = "--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1"
        os.environ["XLA_FLAGS"] = (os.environ.get("XLA_FLAGS", "") + " " + flags).strip()


def environment() -> dict[str, str]:
    """Versions, BLAS kernel and threads, OpenBLAS variables, load: what the numbers depend on."""
    import jax
    import sklearn
    import torch
    from threadpoolctl import threadpool_info

    blas = [
        f"{i.get('internal_api')} {i.get('version')} kernel={i.get('architecture')} "
        f"threads={i.get('num_threads')}"
        for i in threadpool_info()
        if i.get("user_api") == "blas"
    ]
    return {
        "date": datetime.now().isoformat(timespec="seconds"),
        "machine": f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores",
        "python": platform.python_version(),
        "numpy": np.__version__,
        "numpy BLAS (threadpoolctl)": "; ".join(blas) or "unknown",
        "nnhw ensemble threads": str(wl.NNHW_THREADS),
        "OPENBLAS_CORETYPE": os.environ.get("OPENBLAS_CORETYPE", "unset"),
        "OPENBLAS_L2_SIZE": os.environ.get("OPENBLAS_L2_SIZE", "unset"),
        "torch": f"{torch.__version__} ({torch.get_num_threads()} threads)",
        "scikit-learn": sklearn.__version__,
        "jax": f"{jax.__version__} ({jax.devices()[0].platform}, "
        f"XLA_FLAGS={os.environ.get('XLA_FLAGS', 'unset')})",
        "load average at start": " ".join(f"{x:.2f}" for x in os.getloadavg()),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="smoke run: short trainings")
    parser.add_argument("--rounds", type=int, default=None, help="timed rounds (default 7, 2)")
    parser.add_argument("--only", default=",".join(GROUPS), help=f"subset of {','.join(GROUPS)}")
    parser.add_argument("--out", type=Path, default=ROOT / "results", help="output directory")
    parser.add_argument(
        "--threads", type=int, default=None,
        help="limit every contender to N threads: NumPy's BLAS (threadpoolctl), torch, XLA "
        "(default: each library's own default)",
    )  # fmt: skip
    args = parser.parse_args(argv)
    if args.threads is not None:
        if args.threads < 1:
            parser.error(f"--threads must be >= 1, got {args.threads}")
        limit_threads(args.threads)
    groups = [g.strip() for g in args.only.split(",") if g.strip()]
    unknown = sorted(set(groups) - set(GROUPS))
    if unknown:
        parser.error(f"--only: unknown group(s) {', '.join(unknown)}; choose from {GROUPS}")
    rounds = args.rounds or (2 if args.quick else 7)
    if rounds < 1:
        parser.error(f"--rounds must be >= 1, got {rounds}")

    env = environment()
    rows: list[Row] = []
    for group in groups:
        if group == "startup":
            rows += startup_rows(runs=3 if args.quick else 21)
            continue
        if group == "verify":
            print("timing nnhw verify ...", file=sys.stderr, flush=True)
            rows += verify_rows(runs=1 if args.quick else 3)
            continue
        for workload in BUILDERS[group](args.quick):
            print(f"timing {workload[0]} ...", file=sys.stderr, flush=True)
            rows += measure(workload, rounds)
    env["load average at end"] = " ".join(f"{x:.2f}" for x in os.getloadavg())
    text = render(rows, env, quick=args.quick)
    print(text)
    paths = write_results(rows, text, args.out, quick=args.quick)
    print("written: " + ", ".join(str(p) for p in paths), file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
