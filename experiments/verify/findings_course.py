"""Verdicts on the course's formulas (1.2(b)-(d), 1.3(a)), from the tables of verify.course.

Contract: each judge takes (tables, command) and returns a Claim, reading only
course_forward, course_gradients and course_jacobians; a KeyError when they are absent.

- forward_pass (1.2(b), with 1.3(a)'s forward pass): every z1, z2, z3, y_hat the answer writes
  equals autograd's to rounding in every seed -> supported (1.3(a) names g's input z2 where 1.1
  names it z3: said in the numbers, the values are right).
- chain_rule(net) (1.2(c) / the derivatives of 1.3(a)): per bullet, does the product as written
  hold (conformable, of numerator-layout shape, equal to autograd's derivative)? Every one ->
  supported; those that fail all hold in their corrected form (x or z2 moved to the front, z3
  read for z2) -> "holds only when" with the corrections named; otherwise refuted.
- jacobians(net) (1.2(d) / the elements of 1.3(a)): the elements the answer gives are the
  diagonal of autograd's Jacobian (off-diagonal exactly 0) in every seed, but the answer writes
  a scalar where the Jacobian is K x K or m x m diagonal and a K x 1 column where dl/dy_hat is
  a 1 x K row -> "holds only when" read so; the summed loss's dl/dy_hat (the mean loss's is
  2(y_hat - y) / K, measured) -> part of the verdict.
Tolerance: relative error <= verify.course.TOLERANCE (1e-10; float64 rounding is about 1e-16).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

import pandas as pd

from nnhw.experiments.reporting.numbers import number
from nnhw.experiments.verify.claims import HOLDS_ONLY, REFUTED, SUPPORTED, Claim, within_tolerance
from nnhw.experiments.verify.course import CORRECTED, HIDDEN, N_IN, OUT, TOLERANCE

Tables = dict[str, pd.DataFrame]
DIMS = f"n = {N_IN}, m = {HIDDEN}, K = {OUT}"
NET_WORDS = {"regression": "Linear, ReLU, Linear, identity", "classification":
             "Linear, sigmoid, Linear, sigmoid"}  # fmt: skip


def _oracle(t: pd.DataFrame) -> str:
    return str(t["oracle"].iloc[0]) if len(t) else "autograd"


def forward_pass(tables: Tables, command: str) -> Claim:
    t = tables["course_forward"]
    per_seed = t.groupby("seed")["rel_error"].max().tolist()
    worst = max(per_seed)
    claim = Claim(
        "forward-pass", "1.2(b)",
        "Each layer's input and output in the forward pass: z1 = W1 x + b1, z2 = f(z1), "
        "z3 = W2 z2 + b2, y_hat = g(z3) (and 1.3(a)'s with sigmoid)",
        f"the answer's expressions for z1, z2, z3 and y_hat of one example ({DIMS}) against "
        f"{_oracle(t)}'s forward pass, both nets",
        f"largest relative error {number(worst)} over {len(per_seed)} seeds and both nets; "
        "1.3(a) names g's input z2 where 1.1 calls it z3 (the value it writes is right)",
        SUPPORTED if worst <= TOLERANCE else REFUTED, SUPPORTED, "tables/course_forward.csv",
        theory="z1 = W1 x + b1 (m x 1), z2 = f(z1) (m x 1), z3 = W2 z2 + b2 (K x 1), "
        f"y_hat = g(z3) (K x 1), with {DIMS}",
        command=command,
    )  # fmt: skip
    return within_tolerance(claim, per_seed, TOLERANCE, "largest relative error", number)


def _patterns(g: pd.DataFrame) -> pd.Series:
    """Per seed: which (item, form) hold, as a hashable tuple."""
    return g.groupby("seed").apply(
        lambda s: tuple(zip(s["item"], s["form"], s["holds"])), include_groups=False
    )


def _written_text(rows: pd.DataFrame) -> str:
    parts = []
    for r in rows.itertuples():
        if r.holds:
            parts.append(f"{r.item} holds ({r.expression}: {r.shapes} = {r.result_shape})")
        elif not r.conformable:
            parts.append(f"{r.item} does not conform ({r.expression}: {r.shapes})")
        else:
            parts.append(
                f"{r.item} gives {r.result_shape} where it is {r.target_shape} "
                f"({r.expression}: {r.shapes})"
            )
    return "; ".join(parts)


def chain_rule(net: str) -> Callable[[Tables, str], Claim]:
    section = "1.2(c)" if net == "regression" else "1.3(a)"

    def judge(tables: Tables, command: str) -> Claim:
        t = tables["course_gradients"]
        t = t[t["net"] == net]
        if t.empty:
            raise KeyError(net)
        seeds = t["seed"].nunique()
        first = t[t["seed"] == t["seed"].min()]
        written = first[first["form"] == "as written"]
        held = t.groupby(["item", "form"], sort=False)["holds"].all()
        failing = [i for i in written["item"] if not held[(i, "as written")]]
        fixed = [i for i in failing if held.get((i, "corrected"), False)]
        patterns = _patterns(t)
        agree = int((patterns == patterns.mode().iloc[0]).sum())
        good = t[t["holds"]]
        per_seed = good.groupby("seed")["rel_error"].max().reindex(sorted(t["seed"].unique()))
        if not failing:
            verdict = SUPPORTED
        elif fixed == failing:
            fixes = [f"{i}: {CORRECTED[i][1]}" for i in failing]
            what = []
            if any("front" in CORRECTED[i][1] for i in failing):
                what.append("the missing transposes are supplied")
            if any("z3" in CORRECTED[i][1] for i in failing):
                what.append("z3 is read where the answer writes z2")
            verdict = f"{HOLDS_ONLY} {' and '.join(what)} ({'; '.join(fixes)})"
        else:
            verdict = REFUTED
        corrected = first[first["form"] == "corrected"]
        numbers = (
            f"As written ({DIMS}, numerator layout, every derivative symbol replaced by its "
            f"Jacobian from {_oracle(t)}): {_written_text(written)}. Corrected: "
            + "; ".join(f"{r.item} = {r.expression} ({r.result_shape})"
                        for r in corrected.itertuples())
            + f". {len(good)} holding products match {_oracle(t)} to a relative "
            f"{number(float(per_seed.max()))} at worst; {agree} of {seeds} seeds give the same "
            "pattern (the shapes do not depend on the draw)."
        )  # fmt: skip
        claim = Claim(
            f"chain-rule-{net}", section,
            f"The gradients of the backward pass of {NET_WORDS[net]} (the chain rule as the "
            "answer writes it)",
            "each bullet's final product evaluated literally, factor by factor, for one example "
            f"with {DIMS}, against autograd; the failing ones again in a corrected form",
            numbers, verdict, HOLDS_ONLY, "tables/course_gradients.csv",
            theory="numerator layout: for z = W u + b, dl/dW = u (dl/dz) (in x out), i.e. the "
            "gradient (dl/dz)^T u^T; dl/dz1 = dl/dy_hat dy_hat/dz3 W2 dz2/dz1 = "
            f"(1x{OUT})({OUT}x{OUT})({OUT}x{HIDDEN})({HIDDEN}x{HIDDEN}) = 1x{HIDDEN}",
            command=command,
        )  # fmt: skip
        out = within_tolerance(claim, per_seed.fillna(0).tolist(), TOLERANCE,
                               "largest relative error of a holding product", number)  # fmt: skip
        return replace(out, agree=agree)

    return judge


def jacobians(net: str) -> Callable[[Tables, str], Claim]:
    section = "1.2(d)" if net == "regression" else "1.3(a)"

    def judge(tables: Tables, command: str) -> Claim:
        t = tables["course_jacobians"]
        t = t[t["net"] == net]
        if t.empty:
            raise KeyError(net)
        per_seed = t.groupby("seed")[["elements_rel_error", "max_off_diagonal"]].max().max(axis=1)
        first = t[t["seed"] == t["seed"].min()]
        ratio = float(t["mean_loss_ratio"].dropna().mean())
        elements_ok = float(per_seed.max()) <= TOLERANCE
        shapes = "; ".join(
            f"{r.jacobian} = {r.course_elements}: the answer writes a {r.course_shape}, "
            f"it is a {r.true_shape}" for r in first.itertuples()
        )  # fmt: skip
        numbers = (
            f"{shapes}. The elements equal {_oracle(t)}'s (diagonal; every off-diagonal entry "
            f"exactly 0) to a relative {number(float(per_seed.max()))} in all "
            f"{len(per_seed)} seeds. 2(y_hat - y) is the summed loss's: with the mean loss "
            f"||y_hat - y||^2 / K, dl/dy_hat measured {number(ratio)} times it (1/K = "
            f"{number(1 / OUT)})."
        )
        verdict = (
            f"{HOLDS_ONLY} read as the diagonal entries of the {OUT} x {OUT} and {HIDDEN} x "
            f"{HIDDEN} Jacobians, with dl/dy_hat transposed to a row, for the summed loss"
            if elements_ok
            else REFUTED
        )
        claim = Claim(
            f"jacobians-{net}", section,
            "The elements of dl/dy_hat, dy_hat/dz3 and dz2/dz1, with their dimensions"
            + (" (sigmoid's derivatives)" if net == "classification" else ""),
            f"the answer's elements against autograd's Jacobians for one example ({DIMS}): "
            "values, off-diagonal entries and shapes; dl/dy_hat of the mean loss beside the "
            "summed one's",
            numbers, verdict, HOLDS_ONLY, "tables/course_jacobians.csv",
            theory=f"an elementwise f has the Jacobian diag(f'(z1)) ({HIDDEN} x {HIDDEN}); "
            f"dl/dy_hat of ||y_hat - y||^2 is the 1 x {OUT} row 2(y_hat - y)^T; of the mean "
            f"loss, 2(y_hat - y)^T / K",
            command=command,
        )  # fmt: skip
        return within_tolerance(claim, per_seed.tolist(), TOLERANCE,
                                "largest relative error of the elements", number)  # fmt: skip

    return judge


COURSE_CLAIMS: list[Callable[[Tables, str], Claim]] = [
    forward_pass,
    chain_rule("regression"),
    jacobians("regression"),
    chain_rule("classification"),
    jacobians("classification"),
]
