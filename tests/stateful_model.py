"""A pure-Python model of the tasks API for the stateful tests (reliability S1, lifecycle state machine).

Written by hand from the specs, not from taskstore's code (it imports nothing from taskstore):
the behaviour specs lifecycle.md (§1.2 transition table, §1.4 write access, §1.6 queue primitives and
dequeue-and-revert, §2-§14 per endpoint), query_edit.md (§2.2-§2.5 create/edit/update, §3
hyperparameters, configuration and artifacts, §1.13 response form) and the deliberate differences of
docs/compatibility.md (marked "ours" below).

Every operation returns the error the spec expects, as ``(code, subcode)``, or None for success, and
changes the model only on success: every call is one transaction (ours). The ``*_many`` endpoints run
the per-id operation once per id, in order. There is one company (the caller's); a task made public
(company "") is still visible to it.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any

Code = tuple[int, int] | None
Item = dict[str, Any]

# lifecycle §1.2, by hand: the moves allowed without force (same-state moves are handled apart).
SPEC_MOVES: dict[str, set[str]] = {
    "created": {"queued", "in_progress"},
    "queued": {"created", "in_progress", "stopped"},
    "in_progress": {"created", "stopped", "failed", "completed"},
    "stopped": {"created", "queued", "in_progress", "failed", "closed", "completed", "publishing", "published"},
    "closed": {"created", "stopped", "failed", "publishing", "published"},
    "failed": {"created", "stopped", "published"},
    "completed": {"created", "in_progress", "published"},
    "publishing": {"published"},
    "published": set(),
}
STATUSES = [*SPEC_MOVES, "unknown"]
SIGNAL_TARGETS = {"started": "in_progress", "stopped": "stopped", "failed": "failed", "close": "closed",
                  "completed": "completed"}  # fmt: skip
DELETED = "__DELETED__"  # a deleted task's children get parent = DELETED + its id (lifecycle §5.3)


@dataclass
class TaskModel:
    status: str = "created"
    enqueue_status: str | None = None
    queue: str | None = None  # execution.queue
    name: str = "stateful"
    comment: str | None = None
    tags: list[str] = field(default_factory=list)
    system_tags: list[str] = field(default_factory=list)
    hyperparams: dict[str, dict[str, Item]] = field(default_factory=dict)  # section -> name -> item
    configuration: dict[str, Item] = field(default_factory=dict)  # name -> item
    artifacts: dict[tuple[str, str], Item] = field(default_factory=dict)  # (key, mode) -> artifact
    parent: str | None = None
    public: bool = False  # made public: company "" (readable, 403/21 on every write)

    @property
    def archived(self) -> bool:
        return "archived" in self.system_tags

    def view(self, company: str) -> dict[str, Any]:
        """The get_by_id fields the tests compare, in response form (query_edit §1.13): tags sorted,
        artifacts a list sorted by key, then mode (ours)."""
        return {
            "company": "" if self.public else company,
            "status": self.status,
            "name": self.name,
            "comment": self.comment,
            "tags": sorted(self.tags),
            "system_tags": sorted(self.system_tags),
            "hyperparams": copy.deepcopy(self.hyperparams),
            "configuration": copy.deepcopy(self.configuration),
            "execution.artifacts": [copy.deepcopy(a) for _, a in sorted(self.artifacts.items())],
            "execution.queue": self.queue,
            "parent": self.parent,
        }


def bad_tags(*lists: list[str] | None) -> bool:
    """query_edit §2.2 step 4: a tag starting with ``__$`` is 400/16."""
    return any(t.startswith("__$") for tags in lists for t in tags or [])


def field_errors(fields: dict[str, Any]) -> Code:
    """create/edit/update field checks: tags (only when ``tags`` is sent, then system_tags too: the
    reference's quirk, §2.2 step 4), then the name (trimmed, at least 3 characters: 400/800)."""
    if "tags" in fields and bad_tags(fields["tags"], fields.get("system_tags")):
        return (400, 16)
    if "name" in fields and len(fields["name"].strip()) < 3:
        return (400, 800)
    return None


def section_of(item: Item) -> str:
    """query_edit §3.3: a section equal to ``properties`` ignoring case is ``properties``."""
    return "properties" if item["section"].lower() == "properties" else str(item["section"])


class SpecModel:
    """What the spec (with our deliberate differences) says the store holds."""

    def __init__(self, queues: list[str]) -> None:
        self.tasks: dict[str, TaskModel] = {}  # live tasks, in creation order
        self.entries: dict[str, list[str]] = {q: [] for q in queues}

    # -- helpers --------------------------------------------------------------------------------------
    @staticmethod
    def refusal(current: str, target: str, *, force: bool, same: str = "allow") -> Code:
        """SCP's check (§1.2 rules 1-3); ``same``: allow / forbid / table."""
        if force:
            return None
        if current == target and same != "table":
            return (400, 110) if same == "forbid" else None
        if current not in SPEC_MOVES:
            return (500, 1)
        return None if target in SPEC_MOVES[current] else (400, 110)

    def writable(self, tid: str) -> Code:
        """§1.4: missing (or deleted) 400/101, public 403/21; no force bypasses either."""
        if tid not in self.tasks:
            return (400, 101)
        return (403, 21) if self.tasks[tid].public else None

    def move(self, tid: str, target: str) -> None:
        """A successful status change: leaving ``queued`` leaves every queue (ours)."""
        task = self.tasks[tid]
        if task.status == "queued" and target != "queued":
            self.drop(tid)
        task.status = target

    def drop(self, tid: str, keep: str | None = None) -> None:
        for q, items in self.entries.items():
            if q != keep:
                items[:] = [t for t in items if t != tid]

    def published_children(self, tid: str) -> bool:
        """§5.1: a published task whose parent is ``tid`` blocks reset and delete without force."""
        return any(t.parent == tid and t.status == "published" for t in self.tasks.values())

    def dar(self, tid: str) -> Code:
        """§1.6 dequeue-and-revert; on an error nothing changes (ours: atomic)."""
        task = self.tasks[tid]
        if task.status != "queued":
            return (400, 101)
        if not task.queue:
            return (400, 11)
        if tid not in self.entries[task.queue]:
            return (400, 703)
        target = task.enqueue_status or "created"
        code = self.refusal("queued", target, force=False)
        if code:
            return code
        self.entries[task.queue] = [t for t in self.entries[task.queue] if t != tid]
        self.move(tid, target)
        task.enqueue_status = None
        return None

    def params_status(self, tid: str, force: bool, *, any_status: bool = False) -> Code:
        """query_edit §3.1: created, or created/in_progress with force (else 400/110)."""
        code = self.writable(tid)
        if code or any_status:
            return code
        return None if self.tasks[tid].status in (("created", "in_progress") if force else ("created",)) else (400, 110)

    # -- creating ------------------------------------------------------------------------------------
    def create(self, tid: str, fields: dict[str, Any]) -> Code:
        """query_edit §2.2/§2.3: parent must be an existing task (400/16), then tags, then the name."""
        if "parent" in fields and fields["parent"] not in self.tasks:
            return (400, 16)
        code = field_errors(fields)
        if code:
            return code
        self.tasks[tid] = TaskModel(
            name=fields["name"].strip(),
            comment=fields.get("comment"),
            tags=list(fields.get("tags", [])),
            system_tags=list(fields.get("system_tags", [])),
            parent=fields.get("parent"),
        )
        return None

    def clone(self, src: str, tid: str, over: dict[str, Any]) -> Code:
        """lifecycle §12: tag prefix (400/16) before the source lookup (400/101), then the parent
        (400/101). Empty overrides count as not given; output artifacts and the queue are dropped."""
        if bad_tags(over.get("new_task_tags"), over.get("new_task_system_tags")):
            return (400, 16)
        if src not in self.tasks:
            return (400, 101)
        if "new_task_parent" in over and over["new_task_parent"] not in self.tasks:
            return (400, 101)
        source = self.tasks[src]
        inherited = source.parent if source.parent and not source.parent.startswith(DELETED) else None
        self.tasks[tid] = TaskModel(
            name=over.get("new_task_name") or source.name,
            comment=over.get("new_task_comment") or source.comment,
            tags=list(over.get("new_task_tags") or source.tags),
            system_tags=list(
                over.get("new_task_system_tags")
                or [t for t in source.system_tags if t not in ("development", "archived")]
            ),
            hyperparams=copy.deepcopy(over.get("new_task_hyperparams") or source.hyperparams),
            configuration=copy.deepcopy(over.get("new_task_configuration") or source.configuration),
            artifacts={k: copy.deepcopy(a) for k, a in source.artifacts.items() if k[1] != "output"},
            parent=over.get("new_task_parent") or inherited,
        )
        return None

    # -- editing ---------------------------------------------------------------------------------------
    def _apply(self, tid: str, fields: dict[str, Any]) -> None:
        task = self.tasks[tid]
        if "name" in fields:
            task.name = fields["name"].strip()
        if "comment" in fields:
            task.comment = fields["comment"]
        if "tags" in fields:
            task.tags = list(fields["tags"])
        if "system_tags" in fields:
            task.system_tags = list(fields["system_tags"])
        if "parent" in fields:
            task.parent = fields["parent"]

    def edit(self, tid: str, fields: dict[str, Any], force: bool) -> Code:
        """query_edit §2.4: created only, unless force; then the fields as on create."""
        code = self.writable(tid)
        if not code and not force and self.tasks[tid].status != "created":
            code = (400, 110)
        if not code and "parent" in fields and fields["parent"] not in self.tasks:
            code = (400, 16)
        code = code or field_errors(fields)
        if code is None:
            self._apply(tid, fields)
        return code

    def update(self, tid: str, fields: dict[str, Any]) -> Code:
        """query_edit §2.5: any status."""
        code = self.writable(tid) or field_errors(fields)
        if code is None:
            self._apply(tid, fields)
        return code

    def edit_status(self, tid: str, status: str) -> Code:
        """tasks.edit with ``status`` and force: no checks, no bookkeeping (lifecycle §2, the back door)."""
        code = self.writable(tid)
        if code is None:
            self.move(tid, status)
        return code

    def edit_hyper_params(self, tid: str, items: list[Item], replace: str, force: bool) -> Code:
        """query_edit §3.3: a properties-only request is allowed in any status."""
        items = [{**i, "section": section_of(i)} for i in items]
        code = self.params_status(tid, force, any_status=all(i["section"] == "properties" for i in items))
        if code:
            return code
        params = self.tasks[tid].hyperparams
        if replace == "all":
            params.clear()
        for section in {i["section"] for i in items} if replace == "section" else ():
            params[section] = {}
        for item in items:
            params.setdefault(item["section"], {})[item["name"]] = dict(item)
        return None

    def delete_hyper_params(self, tid: str, items: list[Item], force: bool) -> Code:
        """query_edit §3.3: an item without a name deletes its section; naming a parameter of a section
        deleted whole in the same request is 400/15 (after the task checks)."""
        items = [{**i, "section": section_of(i)} for i in items]
        code = self.params_status(tid, force, any_status=all(i["section"] == "properties" for i in items))
        if code:
            return code
        whole = {i["section"] for i in items if not i.get("name")}
        if any(i.get("name") and i["section"] in whole for i in items):
            return (400, 15)
        params = self.tasks[tid].hyperparams
        for item in items:
            if not item.get("name"):
                params.pop(item["section"], None)
            elif item["section"] in params:
                params[item["section"]].pop(item["name"], None)  # an emptied section stays (ours)
        return None

    def edit_configuration(self, tid: str, items: list[Item], replace: bool, force: bool) -> Code:
        """query_edit §3.4: no properties exemption."""
        code = self.params_status(tid, force)
        if code:
            return code
        config = self.tasks[tid].configuration
        if replace:
            config.clear()
        for item in items:
            config[item["name"]] = dict(item)
        return None

    def delete_configuration(self, tid: str, names: list[str], force: bool) -> Code:
        code = self.params_status(tid, force)
        if code is None:
            for name in names:
                self.tasks[tid].configuration.pop(name, None)
        return code

    def add_or_update_artifacts(self, tid: str, artifacts: list[Item]) -> Code:
        """query_edit §3.5: identity (key, mode), mode defaults to output, display_data to []; the whole
        stored artifact is replaced. ``force`` is ignored: always created or in_progress."""
        code = self.params_status(tid, force=True)
        if code is None:
            for art in artifacts:
                full = {"mode": "output", "display_data": [], **art}
                self.tasks[tid].artifacts[(full["key"], full["mode"])] = full
        return code

    def delete_artifacts(self, tid: str, keys: list[Item]) -> Code:
        code = self.params_status(tid, force=True)
        if code is None:
            for key in keys:
                self.tasks[tid].artifacts.pop((key["key"], key.get("mode", "output")), None)
        return code

    # -- status ------------------------------------------------------------------------------------------
    def signal(self, tid: str, op: str, force: bool, publish: bool = False) -> Code:
        """§3; ``completed`` with publish: then publish with the same force (completed -> published is
        always allowed, so that step cannot fail)."""
        code = self.writable(tid) or self.refusal(self.tasks[tid].status, SIGNAL_TARGETS[op], force=force)
        if code is None:
            self.move(tid, SIGNAL_TARGETS[op])
            if publish:
                return self.publish(tid, force)
        return code

    def stop(self, tid: str, force: bool) -> Code:
        """§4: no worker ever reports here, so always the immediate path."""
        code = self.writable(tid) or self.refusal(self.tasks[tid].status, "stopped", force=force)
        if code is None:
            self.move(tid, "stopped")
        return code

    def publish(self, tid: str, force: bool) -> Code:
        """§6: no same-state exemption."""
        code = self.writable(tid) or self.refusal(self.tasks[tid].status, "published", force=force, same="table")
        if code is None:
            self.move(tid, "published")
        return code

    def reset(self, tid: str, force: bool, clear_all: bool = False) -> Code:
        """§7: published 400/110, published children 400/123, the events lock of ``publishing``
        400/101, then SCP (``unknown`` 500/1). Keeps input artifacts only (none with clear_all)."""
        code = self.writable(tid)
        if code:
            return code
        task = self.tasks[tid]
        if not force:
            if task.status == "published":
                return (400, 110)
            if self.published_children(tid):
                return (400, 123)
            if task.status == "publishing":
                return (400, 101)
        code = self.refusal(task.status, "created", force=force)
        if code is None:
            self.move(tid, "created")
            self.drop(tid)
            task.enqueue_status = task.queue = None
            task.artifacts = {} if clear_all else {k: a for k, a in task.artifacts.items() if k[1] == "input"}
        return code

    # -- queues --------------------------------------------------------------------------------------------
    def enqueue(self, tid: str, queue: str, force: bool = False) -> Code:
        """§9: same state forbidden, then 400/706; drops ``development``. A forced enqueue of a queued
        task moves it and keeps the first enqueue_status (ours)."""
        code = self.writable(tid)
        if code:
            return code
        task = self.tasks[tid]
        previous = task.status
        code = self.refusal(previous, "queued", force=force, same="forbid")
        if code is None and tid in self.entries[queue]:
            code = (400, 706)
        if code:
            return code
        task.enqueue_status = (task.enqueue_status or previous) if previous == "queued" else previous
        if previous == "queued":
            self.drop(tid, keep=queue)
        task.status, task.queue = "queued", queue
        task.system_tags = [t for t in task.system_tags if t != "development"]
        self.entries[queue].append(tid)
        return None

    def dequeue(self, tid: str) -> Code:
        return self.writable(tid) or self.dar(tid)

    def get_next_task(self, queue: str) -> str | None:
        """queues.get_next_task pops the head; the task stays queued (§1.6)."""
        return self.entries[queue].pop(0) if self.entries[queue] else None

    # -- archive, delete, visibility ----------------------------------------------------------------------
    def _archive(self, tid: str) -> None:
        if self.tasks[tid].status == "queued":
            self.dar(tid)  # errors swallowed; a refused revert keeps the entry (ours)
        if not self.tasks[tid].archived:
            self.tasks[tid].system_tags.append("archived")

    def archive(self, tids: list[str]) -> Code:
        """§10 tasks.archive: all ids must be the caller's (public ones count as missing), else 400/101
        and nothing changes."""
        if any(t not in self.tasks or self.tasks[t].public for t in tids):
            return (400, 101)
        for tid in tids:
            self._archive(tid)
        return None

    def archive_one(self, tid: str) -> Code:
        """§10 archive_many, per id."""
        code = self.writable(tid)
        if code is None:
            self._archive(tid)
        return code

    def unarchive_one(self, tid: str) -> Code:
        """§10 unarchive_many, per id: no status change, no queue action."""
        code = self.writable(tid)
        if code is None:
            self.tasks[tid].system_tags = [t for t in self.tasks[tid].system_tags if t != "archived"]
        return code

    def delete(self, tid: str, force: bool) -> Code:
        """§8: created or archived (400/123), published children (400/123), the events lock of
        publishing/published (400/101); then DAR (errors swallowed) and children re-pointed."""
        code = self.writable(tid)
        if code:
            return code
        task = self.tasks[tid]
        if not force:
            if task.status != "created" and not task.archived:
                return (400, 123)
            if self.published_children(tid):
                return (400, 123)
            # checked after the DAR in the spec, but a DAR never reverts to a locked status
            if task.status in ("publishing", "published"):
                return (400, 101)
        if task.status == "queued":
            self.dar(tid)
        for child in self.tasks.values():
            if child.parent == tid:
                child.parent = DELETED + tid
        self.drop(tid)
        del self.tasks[tid]
        return None

    def make_public(self, tids: list[str]) -> Code:
        """§13: every id must be a (private) task of the caller's company, else 400/101, no change."""
        if any(t not in self.tasks or self.tasks[t].public for t in tids):
            return (400, 101)
        for tid in tids:
            self.tasks[tid].public = True
        return None

    def make_private(self, tids: list[str]) -> Code:
        """§13: every id must be public with the caller's company as origin, else 400/101."""
        if any(t not in self.tasks or not self.tasks[t].public for t in tids):
            return (400, 101)
        for tid in tids:
            self.tasks[tid].public = False
        return None

    def listed(self, search_hidden: bool) -> list[str]:
        """tasks.get_all without order_by: insertion order (ours); ``hidden`` left out unless
        search_hidden (query_edit §1.8)."""
        return [t for t, m in self.tasks.items() if search_hidden or "hidden" not in m.system_tags]
