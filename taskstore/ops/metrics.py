"""The metric summaries events leave on their task (spec: query_edit §4): a pure fold.

``last_metrics = {md5(metric): {md5(variant): {metric, variant, value, min_value, max_value}}}``,
``last_iteration`` and ``metric_stats``.  :class:`TaskFold` folds one batch of (already accepted and
normalised) events of one task; :func:`merge_last_metrics` and :func:`merge_metric_stats` apply the
fold to what the task holds.  No database access here: the property tests compare this with their
own fold.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any

SCALAR = "training_stats_scalar"
# Machine-monitoring metrics do not advance last_iteration (the reference's _skip_iteration_for_metric).
NO_ITERATION_METRICS = frozenset({":monitor:machine", ":monitor:gpu"})


def name_hash(name: str) -> str:
    """md5 of the UTF-8 name, lowercase hex: the key of a metric or a variant."""
    return hashlib.md5(name.encode()).hexdigest()


@dataclass
class _Newest:
    """The newest scalar of one (metric, variant) in a batch, with min/max over the newest-so-far."""

    metric: str
    variant: str
    value: float
    iter: int
    timestamp: float
    min_value: float
    max_value: float


@dataclass
class TaskFold:
    """One task's share of an event batch."""

    iter_max: int | None = None
    scalars: dict[tuple[str, str], _Newest] = field(default_factory=dict)
    # metric -> event type -> newest event timestamp (epoch ms)
    stats: dict[str, dict[str, float]] = field(default_factory=dict)

    def add(self, etype: str, metric: str, variant: str, it: int | None, timestamp: float, value: Any) -> None:
        """Fold one event (``it`` None: the event has no iteration)."""
        if it is not None and metric not in NO_ITERATION_METRICS:
            self.iter_max = it if self.iter_max is None else max(self.iter_max, it)
        if metric:
            per_type = self.stats.setdefault(metric, {})
            seen = per_type.get(etype)
            if seen is None or seen < timestamp:
                per_type[etype] = timestamp
        if etype == SCALAR and metric and variant and value is not None:
            self._scalar(metric, variant, it or 0, timestamp, value)

    def _scalar(self, metric: str, variant: str, it: int, timestamp: float, value: float) -> None:
        key = (metric, variant)
        last = self.scalars.get(key)
        if last is None:
            self.scalars[key] = _Newest(metric, variant, value, it, timestamp, value, value)
        elif (it, timestamp) >= (last.iter, last.timestamp):  # ties: the later event wins
            self.scalars[key] = _Newest(
                metric, variant, value, it, timestamp, min(value, last.min_value), max(value, last.max_value)
            )


def merge_last_metrics(stored: dict[str, Any] | None, fold: TaskFold) -> dict[str, Any]:
    """Set value/metric/variant from the batch (whatever the stored iteration), and widen min/max."""
    out: dict[str, Any] = {mh: dict(variants) for mh, variants in (stored or {}).items()}
    for (metric, variant), s in fold.scalars.items():
        variants = out.setdefault(name_hash(metric), {})
        vh = name_hash(variant)
        old = variants.get(vh) or {}
        low, high = old.get("min_value"), old.get("max_value")
        variants[vh] = {
            **old,
            "metric": metric,
            "variant": variant,
            "value": s.value,
            "min_value": s.min_value if low is None else min(low, s.min_value),
            "max_value": s.max_value if high is None else max(high, s.max_value),
        }
    return out


def merge_metric_stats(stored: dict[str, Any] | None, fold: TaskFold) -> dict[str, Any]:
    """``{md5(metric): {metric, event_stats_by_type: {type: {last_update: ms}}}}``, merged per metric
    and event type (the reference replaces the whole map with the last batch's metrics [Q])."""
    out = dict(stored or {})
    for metric, per_type in fold.stats.items():
        mh = name_hash(metric)
        by_type = dict((out.get(mh) or {}).get("event_stats_by_type") or {})
        by_type.update((etype, {"last_update": ts}) for etype, ts in per_type.items())
        out[mh] = {"metric": metric, "event_stats_by_type": by_type}
    return out
