"""The ``syngen`` command: fit, sample, report, bench, audit, datasets and demo. Thin: parses, calls
the API, prints."""

from __future__ import annotations

import math
import os
import signal
import sys
from pathlib import Path

import click

from .privacy.block import describe

# The modules behind the commands (pandas, torch, scikit-learn) are imported by each command
# as it runs: `syngen --help` stays quick.


class _Abort(click.ClickException):
    """A user error: printed as one line, exit code 1, no traceback."""


def _fail(exc: Exception) -> None:
    raise _Abort(str(exc)) from exc


def _table_path(ctx, param, value):
    if value is not None:
        from .io import table_format

        try:
            table_format(value)
        except ValueError as exc:
            raise click.BadParameter(str(exc)) from None
    return value


def _conditions(ctx, param, values) -> dict:
    out = {}
    for item in values:
        column, sep, value = item.partition("=")
        if not sep or not column:
            raise click.BadParameter(f"{item!r}: write a condition as COLUMN=VALUE")
        if column in out:
            raise click.BadParameter(
                f"{column!r} is conditioned twice ({out[column]!r} and {value!r}): one value "
                "per column"
            )
        out[column] = value
    return out


def _echo_summary(result, verdicts_only: bool = False) -> None:
    """Scores as aligned lines; privacy verdicts with a green PASS or a red FAIL."""
    for label, value, passed in result.summary():
        if passed is None and not verdicts_only:
            click.echo(f"  {label:28s} {value}")
        elif passed is not None:
            tag = click.style(value[:4], fg="green" if passed else "red", bold=True)
            click.echo(f"  {tag}{value[4:]}")


def _column_list(ctx, param, text: str | None) -> list[str] | None:
    if text is None:
        return None
    columns = [c.strip() for c in text.split(",") if c.strip()]
    if not columns:
        raise click.BadParameter("name at least one column")
    return columns


def _series_options(command):
    """--entity-col, --time-col and --attributes: how a long table splits into sequences."""
    options = [
        click.option(
            "--entity-col", default=None, help="Time series: the column naming each entity."
        ),
        click.option(
            "--time-col",
            default=None,
            help="Time series: the time column (dates or integer steps).",
        ),
        click.option(
            "--attributes",
            default=None,
            metavar="COL,COL",
            callback=_column_list,
            help="Time series: the static columns (default: every column constant "
            "within every entity).",
        ),
    ]
    for option in reversed(options):
        command = option(command)
    return command


# Options that fit and audit declare alike (each use makes its own click Option).
_delta_option = click.option(
    "--delta",
    type=click.FloatRange(min=0, max=1, min_open=True, max_open=True),
    default=None,
    help="With --epsilon: the delta. Default: 1 / (10 x rows).",
)
_max_seconds_option = click.option(
    "--max-seconds",
    type=click.FloatRange(min=0, min_open=True),
    default=None,
    help="Stop training after this many seconds (at the end of an epoch). It bounds the "
    "training only: reading the columns' statistics before it and, for tables, the calibration "
    "after it (seconds; a minute on wide tables of many categories) come on top.",
)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="syngen")
def main() -> None:
    """Synthetic copies of sensitive tables: learn a model of a table, then sample rows."""
    # SIGTERM (timeout, schedulers) unwinds like Ctrl-C: half-written outputs are removed.
    signal.signal(signal.SIGTERM, _terminated)


def _terminated(signum, frame) -> None:
    raise SystemExit(128 + signum)


def _destination(path, *, inputs=(), option="-o", folder=False) -> None:
    from .io import check_destination

    try:
        check_destination(path, inputs=inputs, option=option, folder=folder)
    except ValueError as exc:
        _fail(exc)


@main.command()
@click.argument("data", type=click.Path(exists=True, dir_okay=False), callback=_table_path)
@click.option(
    "-o",
    "--output",
    required=True,
    type=click.Path(dir_okay=False),
    help="Where to write the model file (e.g. model.syngen).",
)
@click.option(
    "--epochs",
    type=click.IntRange(min=1),
    default=None,
    help="Training epochs. Default: 300 (at least ~8,000 steps on tables under 4,000 rows; "
    "20 with --epsilon).",
)
@click.option(
    "--batch-size",
    type=click.IntRange(min=1),
    default=None,
    help="Rows per training step (a multiple of --pac). Default: from the table size.",
)
@click.option(
    "--pac",
    type=click.IntRange(min=1),
    default=None,
    help="Rows the discriminator judges together (PacGAN). Default: 10 from 4,000 rows up, "
    "5 below.",
)
@_max_seconds_option
@click.option(
    "--metadata",
    type=click.Path(exists=True, dir_okay=False),
    default=None,
    help='JSON file {"columns": {name: kind}} overriding detected column kinds '
    "(numerical, integer, categorical, boolean, datetime, id, constant).",
)
@click.option("--seed", type=int, default=None, help="Seed for a reproducible fit.")
@click.option(
    "--device",
    type=click.Choice(["auto", "cpu", "cuda"]),
    default="auto",
    show_default=True,
    help="Where to train.",
)
@click.option(
    "--no-derive",
    is_flag=True,
    help="Tabular: model every discrete column. By default a column that is a function of "
    "another (a code's label, a city's state) is looked up from it, so the two always agree.",
)
@click.option(
    "--epsilon",
    type=click.FloatRange(min=0, min_open=True),
    default=None,
    help="Train under differential privacy with this epsilon for each row (timeseries: each "
    "entity, with all its rows), the whole pipeline (preprocessing included) covered.",
)
@_delta_option
@click.option(
    "--preprocessing-share",
    type=click.FloatRange(min=0, max=1, max_open=True),
    default=None,
    help="With --epsilon: the share of epsilon for the column statistics (ranges, "
    'categories) not given in the metadata file\'s "public" block. Default: 0.2.',
)
@click.option("--quiet", is_flag=True, help="No progress bar.")
@click.option(
    "--kind",
    type=click.Choice(["tabular", "timeseries"]),
    default="tabular",
    show_default=True,
    help="tabular: one row per record (TabularGAN). timeseries: one row per entity and time "
    "step (DoppelGANger); needs --time-col and --entity-col (or --window).",
)
@_series_options
@click.option(
    "--window",
    type=click.IntRange(min=2),
    default=None,
    help="Time series: DATA is one long series; cut it into sequences of this many rows "
    "(an entity column named by --entity-col, default 'window', is added).",
)
def fit(
    data,
    output,
    epochs,
    batch_size,
    pac,
    max_seconds,
    metadata,
    seed,
    device,
    no_derive,
    epsilon,
    delta,
    preprocessing_share,
    quiet,
    kind,
    entity_col,
    time_col,
    attributes,
    window,
):
    """Learn a model of the table DATA (.csv or .parquet) and save it to OUTPUT."""
    series_only = {
        "--entity-col": entity_col,
        "--time-col": time_col,
        "--attributes": attributes,
        "--window": window,
    }
    if kind == "tabular":
        given = [name for name, value in series_only.items() if value is not None]
        if given:
            raise click.UsageError(f"{', '.join(given)}: only for --kind timeseries")
    else:
        if time_col is None:
            raise click.UsageError("--kind timeseries needs --time-col")
        if entity_col is None and window is None:
            raise click.UsageError(
                "--kind timeseries needs --entity-col, or --window for one long series"
            )
        for flag, value in (
            ("--pac", pac),
            ("--no-derive", no_derive or None),
        ):
            if value is not None:
                raise click.UsageError(f"{flag} applies to --kind tabular only")
    if epsilon is None and (delta is not None or preprocessing_share is not None):
        raise click.UsageError("--delta and --preprocessing-share need --epsilon")
    if epsilon is not None and (pac is not None or no_derive):
        raise click.UsageError(
            "--pac and --no-derive do not apply with --epsilon: a DP fit judges single rows "
            "and models every column"
        )
    from .io import read_table

    _destination(output, inputs=(data, metadata))
    try:
        df = read_table(data)
        common = {
            "epochs": epochs,
            "batch_size": batch_size,
            "max_seconds": max_seconds,
            "seed": seed,
            "device": device,
            "verbose": not quiet,
        }
        common = {k: v for k, v in common.items() if v is not None}
        if kind == "tabular":
            from .tabular import TabularGAN

            options = {"pac": pac, "derive_columns": not no_derive}
            if epsilon is not None:
                options = {"dp": _dp_config(epsilon, delta, preprocessing_share, metadata)}
            model = TabularGAN(**options, **common).fit(df, metadata=metadata)
            what = f"{len(df):,} rows x {df.shape[1]} columns"
        else:
            from .timeseries import DoppelGANger

            entity_col = entity_col or "window"
            df = _parse_time_column(df, time_col)
            options = {}
            if epsilon is not None:
                options = {"dp": _dp_config(epsilon, delta, preprocessing_share, metadata)}
            model = DoppelGANger(**options, **common).fit(
                df,
                entity=entity_col,
                time=time_col,
                attributes=attributes,
                window=window,
                metadata=metadata,
            )
            what = f"{len(df):,} rows, {model.schema_['max_len']} steps at most per entity"
        model.save(output)
    except (ValueError, TypeError, RuntimeError, FileNotFoundError) as exc:
        _fail(exc)
    click.echo(f"fitted {what} in {model.epochs_trained_} epochs; model written to {output}")
    if metadata is not None and kind == "tabular":
        _echo_detected(metadata, model.transformer_.metadata_)
    if getattr(model, "privacy_", None) is not None:
        for line in describe(model.privacy_):
            click.echo(line)


def _echo_detected(metadata_path, used) -> None:
    """Name the kinds a partial metadata file left to detection."""
    from .metadata import as_metadata

    given = as_metadata(metadata_path).columns
    rest = [f"{c} ({k})" for c, k in used.columns.items() if c not in given]
    if rest:
        click.echo(
            f"kinds detected for the columns {metadata_path} does not name: {', '.join(rest)}"
        )


def _public_block(path) -> dict:
    """The ``"public": {"bounds": {...}, "categories": {...}}`` block of a metadata file (or
    a file that is such a block); {} if it has none."""
    import json

    try:
        data = json.loads(Path(path).read_text())
    except (OSError, json.JSONDecodeError) as exc:
        raise ValueError(f"{path}: not a readable JSON file ({exc})") from exc
    public = data.get("public", {}) if isinstance(data, dict) else data
    if isinstance(data, dict) and "public" not in data and set(data) <= {"bounds", "categories"}:
        public = data
    if not isinstance(public, dict) or set(public) - {"bounds", "categories"}:
        raise ValueError(
            f'{path}: "public" must be {{"bounds": {{column: [low, high]}}, '
            '"categories": {column: [values]}}'
        )
    return public


def _dp_config(epsilon, delta, share, metadata_path):
    """The DPConfig of ``fit --epsilon``, with the public domains of the metadata file's
    ``"public": {"bounds": {...}, "categories": {...}}`` block."""
    from .privacy.config import DPConfig

    public = _public_block(metadata_path) if metadata_path is not None else {}
    options = {} if share is None else {"preprocessing_share": share}
    return DPConfig(
        epsilon=epsilon,
        delta=delta,
        public_bounds=public.get("bounds", {}),
        public_categories=public.get("categories", {}),
        **options,
    )


def _parse_time_column(df, column: str):
    """A CSV has no dtypes: a time column of text is parsed as dates."""
    import pandas as pd

    if column not in df.columns or df[column].dtype != object:
        return df
    parsed = pd.to_datetime(df[column], errors="coerce", format="mixed")
    bad = parsed.isna() & df[column].notna()
    if bad.any():
        raise ValueError(
            f"time column {column!r} holds {df[column][bad].iloc[0]!r}, which is not a date; "
            "times must be dates or integer steps"
        )
    return df.assign(**{column: parsed})


@main.command()
@click.argument("model", type=click.Path(exists=True, dir_okay=False))
@click.option(
    "-n",
    "--rows",
    "n",
    type=click.IntRange(min=0),
    required=True,
    help="Number of rows to generate (of entities, for a time-series model).",
)
@click.option(
    "-o",
    "--output",
    required=True,
    type=click.Path(),
    help="Output table, .csv or .parquet (written in chunks); with --shards, a folder.",
)
@click.option("--seed", type=int, default=None, help="Seed for reproducible rows.")
@click.option(
    "--shards",
    type=click.IntRange(min=1),
    default=None,
    help="Write a Parquet dataset folder of this many parts (part-00000.parquet ...), each "
    "drawn with its own seed spawned from --seed; _manifest.json is written last, once "
    "every part is there. Under torchrun each rank writes the parts i with i % WORLD_SIZE == RANK.",
)
@click.option(
    "--shard",
    "only_shard",
    type=click.IntRange(min=0),
    default=None,
    help="With --shards and --seed: write only this part (0-based), for a scheduler's task; "
    "the run that completes the folder writes its manifest.",
)
@click.option(
    "-c",
    "--condition",
    "conditions",
    multiple=True,
    callback=_conditions,
    metavar="COLUMN=VALUE",
    help="Only rows with this value (repeatable), e.g. -c income='>50K'.",
)
@click.option(
    "--batch-size",
    type=click.IntRange(min=1),
    default=10_000,
    show_default=True,
    help="Rows (entities, for a time-series model) generated per chunk; memory does not grow "
    "with -n. The rows depend on the seed and on this size: keep both to reproduce a file.",
)
def sample(model, n, output, seed, shards, only_shard, conditions, batch_size):
    """Generate N rows from MODEL and write them to OUTPUT.

    For a time-series model N counts entities (each one several rows), and conditions name
    attribute (static) columns."""
    from .persistence import load
    from .timeseries import DoppelGANger

    if shards is not None:
        return _sample_shards(model, n, output, seed, shards, only_shard, conditions, batch_size)
    if only_shard is not None:
        raise click.UsageError("--shard needs --shards")
    _table_path(None, None, output)
    _destination(output, inputs=(model,))
    try:
        m = load(model)
        if isinstance(m, DoppelGANger):
            rows = m.sample_to(
                output, n, attributes=conditions or None, seed=seed, batch_size=batch_size
            )
            done = f"{n:,} entities ({rows:,} rows)"
        else:
            rows = m.sample_to(
                output, n, conditions=conditions or None, seed=seed, batch_size=batch_size
            )
            done = f"{rows:,} rows"
    except (ValueError, TypeError, RuntimeError, FileNotFoundError) as exc:
        _fail(exc)
    click.echo(f"wrote {done} to {output}")
    if getattr(m, "privacy_", None) is not None:
        for line in describe(m.privacy_):
            click.echo(line)


def _sample_shards(model, n, output, seed, shards, only_shard, conditions, batch_size):
    """`syngen sample --shards K`: a Parquet dataset folder (``syngen.shards``)."""
    from .persistence import load
    from .shards import ShardPlan, new_seed, rank_shards, write_shards

    world = int(os.environ.get("WORLD_SIZE", "1"))
    if seed is None and (only_shard is not None or world > 1):
        raise click.UsageError(
            "--shard (and torchrun) need --seed: every part's seed is spawned from it, so the "
            "runs writing the parts must share it"
        )
    if only_shard is not None and only_shard >= shards:
        raise click.UsageError(f"--shard {only_shard} is not one of the {shards} parts (0 to "
                               f"{shards - 1})")  # fmt: skip
    _destination(output, inputs=(model,), folder=True)
    try:
        m = load(model)
        plan = ShardPlan(n, shards, new_seed() if seed is None else seed)
        only = [only_shard] if only_shard is not None else rank_shards(plan)
        manifest = write_shards(
            m, plan, output, only=only, conditions=conditions or None, batch_size=batch_size
        )
    except (ValueError, TypeError, RuntimeError, FileNotFoundError) as exc:
        _fail(exc)
    parts = ", ".join(str(i) for i in only)
    click.echo(f"wrote part{'s' if len(only) > 1 else ''} {parts} of {shards} to {output}")
    if manifest is not None:
        click.echo(
            f"complete: {manifest['total_rows']:,} rows in {shards} parts (seed {plan.seed}); "
            f"wrote {Path(output) / '_manifest.json'}"
        )


@main.command()
@click.argument("real", type=click.Path(exists=True, dir_okay=False), callback=_table_path)
@click.argument("synthetic", type=click.Path(exists=True, dir_okay=False), callback=_table_path)
@click.option(
    "--holdout",
    type=click.Path(exists=True, dir_okay=False),
    callback=_table_path,
    default=None,
    help="Real rows the generator never saw; needed for the privacy verdicts, and the test "
    "rows of the utility scores.",
)
@click.option("--target", default=None, help="Column to predict for the utility (TSTR) scores.")
@click.option(
    "--sensitive",
    default=None,
    help="Column an attacker wants to learn (attribute-inference risk; needs --holdout).",
)
@click.option(
    "--metadata",
    type=click.Path(exists=True, dir_okay=False),
    default=None,
    help='JSON file {"columns": {name: kind}} overriding the kinds detected from REAL.',
)
@click.option(
    "-o",
    "--output",
    required=True,
    type=click.Path(dir_okay=False),
    help="The HTML page to write (self-contained; open it in any browser).",
)
@click.option(
    "--json",
    "json_path",
    type=click.Path(dir_okay=False),
    default=None,
    help="Also write every score and detail as JSON here.",
)
@_series_options
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of the sub-samples.")
@click.option(
    "--threshold",
    "thresholds",
    multiple=True,
    metavar="NAME=VALUE",
    help="Override a privacy, fidelity or utility threshold (repeatable), e.g. --threshold "
    "membership_auc=0.55 or --threshold quality=0.85. "
    "Names: closer_to_train_excess, near_copy_excess, exact_copy_excess, dcr_p5_ratio, "
    "nndr_ratio, membership_auc, attribute_inference_excess; quality, utility_gap, r2_gap.",
)
@click.option(
    "--strict",
    is_flag=True,
    help="Exit with status 2 when a privacy check fails (for pipelines).",
)
@click.option(
    "--model",
    "model_path",
    type=click.Path(exists=True, dir_okay=False),
    default=None,
    help="The model file SYNTHETIC came from: a DP model's guarantee is shown with the scores.",
)
@click.option(
    "--sample-rows",
    type=click.IntRange(min=100),
    default=None,
    help="Cap the rows each score samples (fidelity, detection, privacy queries, utility): a "
    "quicker, noisier report on a loaded machine. Default: the report's own sizes.",
)
@click.option(
    "--series-iterations",
    type=click.IntRange(min=10),
    default=None,
    help="Time series: training steps of each GRU of the discriminative and predictive "
    "scores, run once each (default: 1,000 steps, 3 and 2 runs); a quicker, noisier report.",
)
def report(
    real,
    synthetic,
    holdout,
    target,
    sensitive,
    metadata,
    output,
    json_path,
    entity_col,
    time_col,
    attributes,
    seed,
    thresholds,
    strict,
    model_path,
    sample_rows,
    series_iterations,
):
    """Score SYNTHETIC rows against the REAL rows they were made from: fidelity, utility and
    privacy, as an HTML page (and JSON). Works for synthetic data from any tool. With
    --entity-col and --time-col the tables are long time series and the time-series scores
    are added."""
    from .report import PrivacyThresholds, QualityThresholds, ReportConfig, evaluate
    from .report.report import report_sizes

    limits = {}
    names = [*PrivacyThresholds.__dataclass_fields__, *QualityThresholds.__dataclass_fields__]
    for item in thresholds:
        name, sep, value = item.partition("=")
        if not sep or name not in names:
            raise click.BadParameter(
                f"{item!r}: write NAME=VALUE with NAME one of {', '.join(names)}",
                param_hint="--threshold",
            )
        try:
            limits[name] = float(value)
        except ValueError:
            raise click.BadParameter(
                f"{item!r}: {value!r} is not a number", param_hint="--threshold"
            ) from None
        if not math.isfinite(limits[name]):
            raise click.BadParameter(f"{item!r}: give a finite number", param_hint="--threshold")
    inputs = (real, synthetic, holdout, metadata, model_path)
    _destination(output, inputs=inputs)
    if json_path:
        _destination(json_path, inputs=(*inputs, output), option="--json")
    try:
        privacy = None
        if model_path is not None:
            from .persistence import load

            privacy = getattr(load(model_path), "privacy_", None)
        from .io import read_table

        frames = {"real": read_table(real), "synthetic": read_table(synthetic)}
        if holdout is not None:
            frames["holdout"] = read_table(holdout)
        if time_col is not None:
            frames = {k: _parse_time_column(v, time_col) for k, v in frames.items()}
        result = evaluate(
            frames["real"],
            frames["synthetic"],
            holdout=frames.get("holdout"),
            metadata=metadata,
            target=target,
            sensitive=sensitive,
            entity=entity_col,
            time=time_col,
            attributes=attributes,
            config=ReportConfig(
                seed=seed,
                **report_sizes(sample_rows, series_iterations),
                thresholds=PrivacyThresholds(
                    **{
                        k: v
                        for k, v in limits.items()
                        if k in PrivacyThresholds.__dataclass_fields__
                    }
                ),
                quality_thresholds=QualityThresholds(
                    **{
                        k: v
                        for k, v in limits.items()
                        if k in QualityThresholds.__dataclass_fields__
                    }
                ),
            ),
            privacy=privacy,
        )
        result.to_html(output)
        if json_path:
            result.to_json(json_path)
    except (ValueError, TypeError, FileNotFoundError) as exc:
        _fail(exc)
    _echo_summary(result)
    click.echo(f"wrote {output}" + (f" and {json_path}" if json_path else ""))
    if strict and result.privacy_passed is False:
        sys.exit(2)


def _number_list(ctx, param, text: str | None):
    if text is None:
        return None
    try:
        values = [float(v) for v in text.split(",") if v.strip()]
    except ValueError:
        raise click.BadParameter(f"{text!r}: write numbers separated by commas") from None
    if not values or min(values) <= 0:
        raise click.BadParameter(f"{text!r}: every value must be a positive number")
    return values


def _interpreters(ctx, param, values) -> dict:
    out = {}
    for item in values:
        family, sep, python = item.partition("=")
        if not sep or not family or not python:
            raise click.BadParameter(
                f"{item!r}: write FAMILY=PYTHON, e.g. smartnoise=venv/bin/python"
            )
        out[family] = python
    return out


@main.command()
@click.argument(
    "data",
    nargs=-1,
    type=click.Path(exists=True, dir_okay=False),
    callback=lambda c, p, v: [_table_path(c, p, x) for x in v],
)
@click.option(
    "--dataset",
    "names",
    multiple=True,
    help="A catalogue table (repeatable): see `syngen datasets list`.",
)
@click.option(
    "--manifest",
    type=click.Path(exists=True, dir_okay=False),
    default=None,
    help="A folder's manifest.json: --dataset names are read from it.",
)
@click.option(
    "--models",
    default=None,
    callback=_column_list,
    help="Comma-separated. Default for tables: identity,holdout,independent,copula,syngen "
    "(also syngen-dp, sdv-ctgan, sdv-tvae, sdv-copula, smartnoise-mst, smartnoise-aim, "
    "smartnoise-dpctgan); for time series: identity,holdout,ar1,doppelganger (also sdv-par, "
    "gretel-dgan).",
)
@click.option(
    "--epsilon",
    "epsilons",
    default="1",
    show_default=True,
    callback=_number_list,
    help="Epsilons of the DP models (one cell each), e.g. 1,3.",
)
@click.option("--target", default=None, help="Target column of the DATA files (utility scores).")
@click.option(
    "--epochs", type=click.IntRange(min=1), default=None, help="Epochs of every model that trains."
)
@click.option(
    "--time-budget",
    type=click.FloatRange(min=1),
    default=None,
    help="Seconds per fit, for every model alike.",
)
@click.option(
    "--timeout",
    type=click.FloatRange(min=1),
    default=None,
    help="Kill a fit after this many seconds (default: 3 x the time budget + 120, or none).",
)
@click.option("--repeats", type=click.IntRange(min=1), default=1, show_default=True)
@click.option(
    "--seed", type=int, default=0, show_default=True, help="Seed of the split and of the fits."
)
@click.option(
    "--threads",
    type=click.IntRange(min=1),
    default=None,
    help="Threads of every fit (default: torch's).",
)
@click.option(
    "--python",
    "interpreters",
    multiple=True,
    callback=_interpreters,
    metavar="FAMILY=PYTHON",
    help="Run a peer family (sdv, smartnoise, gretel) in another interpreter.",
)
@click.option(
    "--report-rows",
    type=click.IntRange(min=10),
    default=None,
    help="Cap the scorer's sample sizes (a quicker, noisier bench).",
)
@click.option(
    "-o",
    "--output-dir",
    type=click.Path(file_okay=False),
    required=True,
    help="Results folder; rerunning into it skips finished cells.",
)
@click.option(
    "--series-iterations",
    type=click.IntRange(min=10),
    default=None,
    help="Training steps of the time-series scores' GRUs (a quicker, noisier bench).",
)
@click.option(
    "--kind",
    type=click.Choice(["tabular", "timeseries"]),
    default="tabular",
    show_default=True,
    help="What the DATA files hold.",
)
@click.option("--entity-col", default=None, help="Time series: the entity column of DATA.")
@click.option("--time-col", default=None, help="Time series: the time column of DATA.")
@click.option(
    "--public",
    "public_path",
    type=click.Path(exists=True, dir_okay=False),
    default=None,
    help="JSON file of public domains for the DP models, as `syngen fit --metadata` reads its "
    '"public" block: {"bounds": {column: [low, high]}, "categories": {column: [values]}} (or '
    "a metadata file holding such a block). Each table uses the columns it has.",
)
def bench(
    data,
    names,
    manifest,
    models,
    epsilons,
    target,
    epochs,
    time_budget,
    timeout,
    repeats,
    seed,
    threads,
    interpreters,
    report_rows,
    series_iterations,
    kind,
    entity_col,
    time_col,
    public_path,
    output_dir,
):
    """Train each candidate generator on each table, score all alike and write a leaderboard:
    results.json, leaderboard.md and leaderboard.html in the output folder. Every fit runs in
    its own process with the same split, threads and budget. DATA files are tables unless
    --kind timeseries (then with --entity-col and --time-col)."""
    from .bench import BenchConfig, from_file, resolve, run_bench
    from .bench.leaderboard import console

    try:
        config = BenchConfig(
            models=None if models is None else tuple(models),
            epsilons=tuple(epsilons),
            epochs=epochs,
            time_budget=time_budget,
            repeats=repeats,
            seed=seed,
            timeout=timeout,
            threads=threads,
            interpreters=interpreters,
            report_rows=report_rows,
            series_iterations=series_iterations,
            public=_public_block(public_path) if public_path else {},
        )
        _destination(output_dir, option="--output-dir", folder=True)
        if kind == "timeseries" and data and (entity_col is None or time_col is None):
            raise ValueError("--kind timeseries needs --entity-col and --time-col")
        tables = [
            from_file(path, target=target, kind=kind, entity=entity_col, time=time_col)
            for path in data
        ]
        tables += resolve(list(names), manifest)
        if not tables:
            raise ValueError(
                "name a table: DATA files, or --dataset NAME (see `syngen datasets list`)"
            )
        results = run_bench(tables, output_dir, config, progress=click.echo)
    except (ValueError, TypeError, FileNotFoundError) as exc:
        _fail(exc)
    click.echo(console(results))
    out = Path(output_dir)
    click.echo(
        f"\nwrote {out / 'results.json'}, {out / 'leaderboard.md'}, {out / 'leaderboard.html'}"
    )


@main.command()
@click.argument("data", type=click.Path(exists=True, dir_okay=False), callback=_table_path)
@click.option(
    "-o",
    "--output",
    required=True,
    type=click.Path(dir_okay=False),
    help="Where to write the audit's JSON (e.g. audit.json).",
)
@click.option(
    "--html",
    "html_path",
    type=click.Path(dir_okay=False),
    default=None,
    help="Where to write the audit's page with the canary-score plots. Default: OUTPUT with "
    ".html for .json.",
)
@click.option(
    "--epsilon",
    type=click.FloatRange(min=0, min_open=True),
    default=None,
    help="Audit a DP fit with this epsilon (as `syngen fit --epsilon`); without it, the "
    "ordinary fit, which makes no DP claim.",
)
@_delta_option
@click.option(
    "--canaries",
    type=click.IntRange(min=10),
    default=None,
    help="Canary records (entities, with --kind timeseries) planted, each by a fair coin. "
    "Default: a quarter of the rows (entities), between 100 and 1,000.",
)
@click.option(
    "--confidence",
    type=click.FloatRange(min=0.5, max=1, min_open=True, max_open=True),
    default=0.95,
    show_default=True,
    help="Confidence of the lower bound.",
)
@click.option(
    "--epochs",
    type=click.IntRange(min=1),
    default=None,
    help="Training epochs, as for `syngen fit`. Default: fit's.",
)
@_max_seconds_option
@click.option(
    "--metadata",
    type=click.Path(exists=True, dir_okay=False),
    default=None,
    help="The metadata file `syngen fit` would be given (kinds; public domains with --epsilon).",
)
@click.option(
    "--seed", type=int, default=0, show_default=True, help="Seed of the fit and the canaries."
)
@click.option("--quiet", is_flag=True, help="No progress bar.")
@click.option(
    "--kind",
    type=click.Choice(["tabular", "timeseries"]),
    default="tabular",
    show_default=True,
    help="tabular: canary rows, TabularGAN. timeseries: canary entities (every row of each), "
    "DoppelGANger; needs --entity-col and --time-col.",
)
@_series_options
def audit(
    data,
    output,
    html_path,
    epsilon,
    delta,
    canaries,
    confidence,
    epochs,
    max_seconds,
    metadata,
    seed,
    quiet,
    kind,
    entity_col,
    time_col,
    attributes,
):
    """Check a privacy claim on the table DATA: plant canary records (--kind timeseries: canary
    entities) by coin flips, train once as `syngen fit` would, and turn how well the trained
    model gives the canaries away into a lower bound on its epsilon (Steinke, Nasr and
    Jagielski 2023)."""
    if epsilon is None and delta is not None:
        raise click.UsageError("--delta needs --epsilon")
    series = {"--entity-col": entity_col, "--time-col": time_col, "--attributes": attributes}
    if kind == "tabular" and any(v is not None for v in series.values()):
        given = [name for name, value in series.items() if value is not None]
        raise click.UsageError(f"{', '.join(given)}: only for --kind timeseries")
    if kind == "timeseries" and (entity_col is None or time_col is None):
        raise click.UsageError("--kind timeseries needs --entity-col and --time-col")
    html_path = html_path or str(Path(output).with_suffix(".html"))
    if Path(html_path).resolve() == Path(output).resolve():
        raise click.UsageError("--html and -o name the same file")
    _destination(output, inputs=(data, metadata))
    _destination(html_path, inputs=(data, metadata), option="--html")
    from .auditing import audit as run_audit
    from .io import read_table
    from .tabular import TabularGAN
    from .timeseries import DoppelGANger

    try:
        df = read_table(data)
        options = {"epochs": epochs, "max_seconds": max_seconds}
        options = {k: v for k, v in options.items() if v is not None}
        if epsilon is not None:
            options["dp"] = _dp_config(epsilon, delta, None, metadata)
        where = {}
        if kind == "timeseries":
            df = _parse_time_column(df, time_col)
            model = DoppelGANger(seed=seed, verbose=not quiet, **options)
            where = {"entity": entity_col, "time": time_col, "attributes": attributes}
        else:
            model = TabularGAN(seed=seed, verbose=not quiet, **options)
        result = run_audit(
            df,
            model,
            canaries=canaries,
            confidence=confidence,
            metadata=metadata,
            seed=seed,
            **where,
        )
        result.to_json(output)
        result.to_html(html_path)
    except (ValueError, TypeError, RuntimeError, FileNotFoundError) as exc:
        _fail(exc)
    claimed = "none" if result.claimed_epsilon is None else f"{result.claimed_epsilon:g}"
    best = result.best
    click.echo(
        f"audit: {result.canaries} canaries ({result.included} included by their coins); "
        f"best guesses: {best['correct']} of {best['k']} right ({best['score']} score)"
    )
    click.echo(
        f"  epsilon lower bound {result.lower_bound:.3f} at {result.confidence:.0%} "
        f"confidence; claimed epsilon {claimed}"
    )
    bad = result.finding in ("falsified", "leaks")
    tag = click.style(result.finding.upper(), fg="red" if bad else "green", bold=True)
    click.echo(f"  {tag} {result.verdict}")
    click.echo(f"wrote {output}, {html_path}")


@main.group()
def datasets() -> None:
    """The tables syngen bench can run on by name."""


@datasets.command("list")
@click.option(
    "--manifest",
    type=click.Path(exists=True, dir_okay=False),
    default=None,
    help="List a folder's manifest.json instead of the bundled tables.",
)
def datasets_list(manifest):
    """Name, domain, rows, columns, target, task and licence of each table."""
    from .bench import bundled, from_manifest

    try:
        tables = from_manifest(manifest) if manifest else bundled()
    except ValueError as exc:
        _fail(exc)
    line = "{:26s} {:9s} {:10s} {:>8s} {:>4s}  {:12s} {:10s} {}"
    click.echo(line.format("name", "domain", "kind", "rows", "cols", "target", "task", "licence"))
    for d in tables:
        rows = "?" if d.rows is None else f"{d.rows:,}"
        cols = "?" if d.columns is None else str(d.columns)
        fields = (d.domain, d.kind, rows, cols, d.target, d.task, d.licence)
        click.echo(line.format(d.name, *(f or "-" for f in fields)))


@main.command()
@click.option(
    "-o",
    "--output-dir",
    type=click.Path(file_okay=False),
    default="syngen-demo",
    show_default=True,
    help="Folder for the model, the synthetic rows and the scores.",
)
@click.option(
    "--max-seconds",
    type=click.FloatRange(min=1),
    default=90,
    show_default=True,
    help="Training time budget.",
)
@click.option("--seed", type=int, default=0, show_default=True)
def demo(output_dir, max_seconds, seed):
    """Fit on a bundled real table (a sample of UCI Adult), sample it, and score the copy."""
    import json

    from . import datasets
    from .io import write_table
    from .report import evaluate, independent_baseline, quality_scores
    from .tabular import TabularGAN

    _destination(output_dir, option="--output-dir", folder=True)
    out = Path(output_dir)
    out.mkdir(parents=True, exist_ok=True)
    train = datasets.load("adult_sample", split="train")
    test = datasets.load("adult_sample", split="test")
    click.echo(
        f"demo: UCI Adult sample, {len(train):,} training rows x {train.shape[1]} columns "
        f"(held-out real rows: {len(test):,}); training for up to {max_seconds:.0f} s"
    )
    model = TabularGAN(max_seconds=max_seconds, seed=seed, verbose=True).fit(train)
    model.save(out / "model.syngen")
    synthetic = model.sample(len(train), seed=seed)
    write_table(synthetic, out / "synthetic.csv")
    scores = {
        "syngen": quality_scores(test, synthetic, model.transformer_.metadata_),
        "independent columns": quality_scores(
            test, independent_baseline(train, len(train), seed), model.transformer_.metadata_
        ),
        "real training rows": quality_scores(test, train, model.transformer_.metadata_),
    }
    (out / "scores.json").write_text(json.dumps(scores, indent=2))
    full = evaluate(
        train,
        synthetic,
        holdout=test,
        target=datasets.target("adult_sample"),
        sensitive="marital_status",
    )
    full.to_html(out / "report.html")
    full.to_json(out / "report.json")
    click.echo(
        f"\nscores against held-out real rows (sdmetrics, 1.0 = identical), "
        f"{model.epochs_trained_} epochs:"
    )
    click.echo(f"  {'':22s} {'quality':>8s} {'shapes':>8s} {'pairs':>8s}")
    for name, s in scores.items():
        click.echo(
            f"  {name:22s} {s['quality']:8.3f} {s['column_shapes']:8.3f} "
            f"{s['column_pair_trends']:8.3f}"
        )
    click.echo(f"\nverdicts against the held-out rows (full report: {out / 'report.html'}):")
    _echo_summary(full, verdicts_only=True)
    click.echo(
        f"\nwrote {out / 'model.syngen'}, {out / 'synthetic.csv'}, {out / 'scores.json'}, "
        f"{out / 'report.html'}"
    )
    click.echo(synthetic.head().to_string())


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
