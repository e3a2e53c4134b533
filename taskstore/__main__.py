"""``python -m taskstore`` and the ``taskstore`` console script: the command line in taskstore.cli."""

from __future__ import annotations


def main(argv: list[str] | None = None) -> int:
    from taskstore.cli import main as cli_main

    return cli_main(argv)


if __name__ == "__main__":
    raise SystemExit(main())
