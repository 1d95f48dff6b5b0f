"""``--fail-if`` thresholds: ``[model:]metric op value``, checked against every step's figures.

An expression names the *failing* condition (``p99_ms>500`` fails a step whose p99 exceeds 500 ms), the
way k6 marks a run failed and exits non-zero when a threshold is crossed.
"""

import math
import operator
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from loadtest.report import CSV_COLUMNS

OPERATORS: dict[str, Callable[[float, float], bool]] = {
    ">=": operator.ge,
    "<=": operator.le,
    "==": operator.eq,
    "!=": operator.ne,
    ">": operator.gt,
    "<": operator.lt,
}

# Figures a threshold may name: the numeric columns of a step row (one list of columns, in report.py).
_NOT_THRESHOLDS = frozenset({"model", "mode", "level", "wall_s", "resolutions", "errors_by_status"})
METRICS: tuple[str, ...] = tuple(c for c in CSV_COLUMNS if c not in _NOT_THRESHOLDS)

_PATTERN = re.compile(
    r"^\s*(?:(?P<model>[\w.\-]+)\s*:\s*)?(?P<metric>[a-z0-9_]+)\s*(?P<op>>=|<=|==|!=|>|<)\s*(?P<value>[-+0-9.eE]+)\s*$"
)


@dataclass(frozen=True)
class Threshold:
    expr: str
    metric: str
    op: str
    value: float
    model: str | None = None  # None: applies to every model

    def crossed(self, row: Mapping[str, object]) -> bool:
        """True when this step's figure meets the failing condition.

        A figure that could not be measured (NaN, e.g. no successful request to take a p99 from) counts
        as crossed: a run that produced no latency must not pass a latency threshold.
        """
        figure = row[self.metric]
        if not isinstance(figure, int | float) or math.isnan(figure):
            return True
        return OPERATORS[self.op](float(figure), self.value)


def parse_threshold(expr: str) -> Threshold:
    match = _PATTERN.match(expr)
    if match is None:
        raise ValueError(f"threshold {expr!r}: expected '[model:]metric<op>value' such as 'p99_ms>500'")
    metric = match["metric"]
    if metric not in METRICS:
        raise ValueError(f"threshold {expr!r}: unknown metric {metric!r}; known: {', '.join(METRICS)}")
    try:
        value = float(match["value"])
    except ValueError:
        raise ValueError(f"threshold {expr!r}: {match['value']!r} is not a number") from None
    return Threshold(expr=expr.strip(), metric=metric, op=match["op"], value=value, model=match["model"])


def check(thresholds: Sequence[Threshold], rows: Sequence[Mapping[str, object]]) -> list[dict[str, object]]:
    """One verdict per threshold, listing the steps (model, mode, level, figure) that crossed it."""
    verdicts: list[dict[str, object]] = []
    for t in thresholds:
        crossed = [
            {"model": r["model"], "mode": r["mode"], "level": r["level"], "value": r[t.metric]}
            for r in rows
            if (t.model is None or r["model"] == t.model) and t.crossed(r)
        ]
        matched = any(t.model is None or r["model"] == t.model for r in rows)
        verdicts.append({"threshold": t.expr, "passed": matched and not crossed, "crossed": crossed})
    return verdicts
