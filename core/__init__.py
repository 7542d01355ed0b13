"""nnhw's numerical core: pure NumPy nets with a hand-written backward pass.

No pandas, matplotlib, rich or typer here; no file I/O, no printing. Randomness enters only as a
`numpy.random.Generator` passed in.
"""

__version__ = "0.1.0"
