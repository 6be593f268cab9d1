"""The ``aftercare anomaly`` commands: ``score``, ``train`` and ``eval``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

app = typer.Typer(help="anomaly commands", no_args_is_help=True)


@app.command("score")
def score_command(
    input_path: Annotated[Path, typer.Option("--input", help="CSV: a timestamp, then numbers.")],
    output_path: Annotated[Path, typer.Option("--output", help="The input plus anomaly_score.")],
) -> None:
    """Score every row of a numeric series, causally, into [0, 1]."""
    from anomaly.csv_scoring import score_file
    from anomaly.exceptions import InputError

    if not input_path.is_file():
        typer.echo(f"aftercare anomaly score: no such file: {input_path}", err=True)
        raise typer.Exit(2)
    try:
        rows = score_file(input_path, output_path)
    except InputError as exc:
        typer.echo(f"aftercare anomaly score: {exc}", err=True)
        raise typer.Exit(2) from exc
    typer.echo(f"scored {rows} rows -> {output_path}", err=True)


@app.command("train")
def train_command(
    input_path: Annotated[Path, typer.Option("--input", help="Fleet telemetry (.jsonl).")],
    out: Annotated[Path, typer.Option("--out", help="Directory for the model artifact.")],
    labels: Annotated[
        Path | None,
        typer.Option("--labels", help="labels.json (default: next to the input, when present)."),
    ] = None,
    seed: Annotated[int, typer.Option("--seed", help="Random state of the models.")] = 0,
) -> None:
    """Fit the fleet models from telemetry and save them with skops."""
    from anomaly.training import train

    if not input_path.is_file():
        typer.echo(f"aftercare anomaly train: no such file: {input_path}", err=True)
        raise typer.Exit(2)
    labels_path = labels or input_path.with_name("labels.json")
    label_data = json.loads(labels_path.read_text()) if labels_path.is_file() else None
    path, summary = train(input_path, out, label_data, seed=seed)
    typer.echo(json.dumps({"artifact": str(path), **summary}, indent=2))


@app.command("eval")
def eval_command(
    data: Annotated[Path, typer.Option("--data", help="A `sim export` directory.")],
    tickets: Annotated[
        Path | None,
        typer.Option(
            "--tickets", help="Tickets from `aftercare replay` (default: run the engine)."
        ),
    ] = None,
    models: Annotated[Path | None, typer.Option("--models", help="A fleet model artifact.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
) -> None:
    """Score detection against a simulated export's labels."""
    from anomaly.training import evaluate_directory, format_summary

    if not (data / "telemetry.jsonl").is_file() or not (data / "labels.json").is_file():
        typer.echo(f"aftercare anomaly eval: {data} has no telemetry.jsonl/labels.json", err=True)
        raise typer.Exit(2)
    summary = evaluate_directory(data, tickets, models)
    typer.echo(json.dumps(summary.as_dict(), indent=2) if as_json else format_summary(summary))
