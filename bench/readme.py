"""The README's benchmark table, regenerated from a run's JSON (``bench/run.py --record``).

The table sits between two marker comments in README.md; everything else in
the file is left as it is.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

START = "<!-- bench:start (bench/run.py --record writes this table) -->"
END = "<!-- bench:end -->"


def figure(value: float | None, unit: str) -> str:
    if value is None:
        return "-"
    if abs(value) >= 100:
        text = f"{value:,.0f}"
    elif abs(value) >= 10:
        text = f"{value:.1f}"
    else:
        text = f"{value:.2f}"
    return f"{text} {unit}"


def table(result: dict[str, Any]) -> str:
    """The Markdown table of ``result`` (the JSON bench/run.py writes), with its heading line."""
    machine = result["machine"]
    lines = [
        f"From `python bench/run.py --record` ({machine['cpu']}, {machine['cores']} cores, "
        f"Python {machine['python']}, {result['when'][:10]}, commit {result.get('commit', '?')}, "
        f"load average {machine.get('loadavg_before', ['?'])[0]} before the run); each figure "
        "beside a baseline measured in the same run.",
        "",
        "| measure | tuckaway | baseline | ratio | target |",
        "| --- | --- | --- | --- | --- |",
    ]
    for row in result["rows"]:
        if row["status"] != "ok":
            lines.append(f"| {row['label']} | skipped: {row['skipped']} | | | {row['target']} |")
            continue
        baseline = (
            f"{figure(row['baseline'], row['unit'])} ({row['baseline_name']})"
            if row["baseline_name"]
            else "-"
        )
        ratio = "-" if row["ratio"] is None else f"{row['ratio']:.2f}x"
        lines.append(
            f"| {row['label']} | {figure(row['value'], row['unit'])} | {baseline} | {ratio} "
            f"| {row['target']} |"
        )
    return "\n".join(lines)


def update_readme(path: Path, result: dict[str, Any]) -> None:
    """Replace the table between the markers in ``path`` with the one of ``result``."""
    text = path.read_text("utf-8")
    start, end = text.index(START), text.index(END)
    path.write_text(text[: start + len(START)] + "\n" + table(result) + "\n" + text[end:], "utf-8")
