"""``python -m taskstore`` / ``taskstore``: a small command line over a store.

    taskstore demo                      track a few tasks in ./taskstore.db and print them
    taskstore call ENDPOINT [JSON|@file|-]   call one endpoint, print the response as JSON
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from typing import Any

from taskstore.errors import APIError


def _open(url: str | None) -> Any:
    from taskstore import TaskStore

    return TaskStore(url or os.environ.get("TASKSTORE_URL") or "sqlite:///taskstore.db")


def _body(text: str | None) -> Any:
    if text is None:
        return None
    if text == "-":
        text = sys.stdin.read()
    elif text.startswith("@"):
        with open(text[1:], encoding="utf-8") as f:
            text = f.read()
    try:
        return json.loads(text)
    except ValueError:
        return text  # JSON-lines bodies (tasks.update_batch) stay text


def cmd_call(args: argparse.Namespace) -> int:
    with _open(args.db) as store:
        try:
            result = store.call(args.endpoint, _body(args.data), version=args.version)
        except APIError as exc:
            print(f"error {exc.code}/{exc.subcode}: {exc.message}", file=sys.stderr)
            return 1
    print(json.dumps(result, indent=2, ensure_ascii=False))
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    from taskstore.demo import run_demo

    with _open(args.db) as store:
        run_demo(store, out=sys.stdout)
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="taskstore", description="The ClearML tasks API over a local database.")
    parser.add_argument("--db", help="database URL (default: $TASKSTORE_URL or ./taskstore.db)")
    sub = parser.add_subparsers(dest="command", required=True)
    demo = sub.add_parser("demo", help="track a small hyperparameter sweep and print it")
    demo.set_defaults(func=cmd_demo)
    call = sub.add_parser("call", help="call one endpoint and print the response as JSON")
    call.add_argument("endpoint", help='e.g. "tasks.get_by_id"')
    call.add_argument("data", nargs="?", help="request body: JSON, @file or - for standard input")
    call.add_argument("--version", help='API version, e.g. "2.13" (default: newest)')
    call.set_defaults(func=cmd_call)
    args = parser.parse_args(argv)
    return int(args.func(args))


if __name__ == "__main__":
    raise SystemExit(main())
