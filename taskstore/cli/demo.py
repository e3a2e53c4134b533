"""``taskstore demo``: run the README's sweep (taskstore.demo) and print what the store now holds."""

from __future__ import annotations

import click

from taskstore.cli.app import State, common, display_url, pass_state, program
from taskstore.cli.render import metric_values, print_json, short
from taskstore.cli.tasks import LIST_FIELDS, print_task_table

BEST = "loss/val"


@click.command("demo")
@click.option("--epochs", type=click.IntRange(2, 100), default=5, show_default=True, help="Epochs per task.")
@common
@pass_state
def demo(state: State, epochs: int) -> None:
    """Track a small hyperparameter sweep: create, enqueue, pop, run, report metrics, complete.

    Uses ./taskstore.db unless --db says otherwise; run it again to add another sweep.
    """
    from taskstore.demo import SWEEP, run_demo

    store = state.open(create=True)
    where = display_url(store.url)
    if not state.json:
        state.err.print(
            f"Tracking a sweep of {len(SWEEP)} training tasks in {where} (project 'demo', queue 'demo'):\n"
            f"  each is enqueued, popped by a worker (queues.get_next_task), started, trained for {epochs} epochs "
            "(metrics through events.add_batch), then completed or failed.",
            highlight=False,
        )
    run = run_demo(store, epochs=epochs)
    found = store.call("tasks.get_all", {"id": run.tasks, "only_fields": LIST_FIELDS})
    tasks = sorted(found["tasks"], key=lambda t: run.tasks.index(t["id"]))
    scored = [t for t in tasks if metric_values(t).get(BEST) is not None and t["id"] in run.completed]
    best = min(scored, key=lambda t: metric_values(t)[BEST], default=None)
    if state.json:
        print_json({"url": where, "project": run.project, "queue": run.queue, "tasks": tasks,
                    "completed": run.completed, "failed": run.failed, "best": best and best["id"]})  # fmt: skip
        return
    print_task_table(state, store, tasks, ["loss/val", "accuracy/val"])
    console = state.out
    console.print(f"{len(run.completed)} completed, {len(run.failed)} failed", highlight=False)
    if not run.metrics_reported:
        console.print("(events.add is not available in this taskstore: no metrics were reported)")
    if best is not None:
        value = metric_values(best)[BEST]
        console.print(f"best: {best['name']} ({short(best['id'], console)}), {BEST} = {value:.4g}", highlight=False)
        runner_up = sorted(scored, key=lambda t: metric_values(t)[BEST])[1:2]
        db = program() + ("" if state.db is None else f" --db {state.db}")
        lines = [
            "Next:",
            f"  {db} tasks list --project demo --order {BEST}",
            f"  {db} tasks show {short(best['id'], console)}",
        ]
        if runner_up:
            lines.append(f"  {db} tasks compare {short(best['id'], console)} {short(runner_up[0]['id'], console)}")
        lines.append(f"  {db} export -o demo.jsonl")
        state.err.print("\n".join(lines), highlight=False)
