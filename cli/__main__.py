"""`python -m nnhw.cli ...`: the same as the `nnhw` command."""

from nnhw.cli.main import main

if __name__ == "__main__":
    main()
