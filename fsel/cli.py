"""The ``fsel`` command line: parse, call the library, print."""

from __future__ import annotations

import json
import sys
import warnings
from pathlib import Path

import click

from fsel.exceptions import FselInputError

EPILOG_DATA = (
    "DATA is a .csv, .parquet or .feather/.arrow file, or a bundled dataset's name "
    "(see `fsel datasets`)."
)


class RetentionType(click.ParamType):
    """A retention level: a fraction in (0, 1] (``0.4`` or ``40%``) or a count (``5``)."""

    name = "RETENTION"

    def convert(self, value, param, ctx):
        if isinstance(value, (int, float)):
            return value
        text = str(value).strip()
        try:
            if text.endswith("%"):
                number = float(text[:-1]) / 100.0
            elif text.isdigit():
                number = int(text)
            else:
                number = float(text)
        except ValueError:
            self.fail(f"{value!r} is not a fraction (0.4, 40%) or a count (5)", param, ctx)
        if isinstance(number, int):
            if number < 1:
                self.fail(f"a count must be at least 1, got {value!r}", param, ctx)
            return number
        if not 0.0 < number <= 1.0:
            self.fail(f"a fraction must be in (0, 1], got {value!r}", param, ctx)
        return number


RETENTION = RetentionType()


# Options several commands share, defined once.
FORMAT_OPTION = click.option(
    "--format",
    "output_format",
    type=click.Choice(["table", "json"]),
    default="table",
    show_default=True,
    help="A readable table or JSON for machines.",
)
TARGET_OPTION = click.option(
    "--target",
    "-t",
    help="Target column (default: the catalog's, or a column "
    "named target/class/label/outcome/y, or the last column).",
)
TASK_OPTION = click.option(
    "--task",
    type=click.Choice(["classification", "regression"]),
    help="Override the task inferred from the target.",
)
SEED_OPTION = click.option("--seed", type=int, default=0, show_default=True, help="Random seed.")


def _echo_json(payload) -> None:
    click.echo(json.dumps(payload, indent=2, default=str))


@click.group(
    help=(
        "fsel: feature selection for tables, with KAN and classical selectors.\n\n"
        "Example:\n\n    fsel select ckd --target class --selector lasso --retention 0.4"
    ),
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
)
@click.version_option(package_name="fsel")
@click.option("--verbose", is_flag=True, help="Show the warnings of the underlying libraries.")
def cli(verbose: bool) -> None:
    if not verbose:
        warnings.simplefilter("ignore")


@cli.command("datasets", epilog="Example:  fsel datasets --format json")
@FORMAT_OPTION
def datasets_command(output_format: str) -> None:
    """List the bundled datasets, usable by name wherever a command takes DATA."""
    from fsel.data import load_catalog

    rows = [
        {
            "name": name,
            "rows": entry.get("rows"),
            "columns": entry.get("columns"),
            "task": entry.get("task"),
            "target": entry.get("target"),
            "license": entry.get("license"),
            "description": entry.get("description", ""),
        }
        for name, entry in sorted(load_catalog().items())
    ]
    if output_format == "json":
        _echo_json(rows)
        return
    header = ("name", "rows", "columns", "task", "target", "license")
    table = [header] + [tuple(str(row[key]) for key in header) for row in rows]
    widths = [max(len(line[i]) for line in table) for i in range(len(header))]
    for line in table:
        click.echo(
            "  ".join(cell.ljust(width) for cell, width in zip(line, widths, strict=True)).rstrip()
        )


@cli.command(
    "select",
    epilog=(
        "Example:  fsel select ckd --target class --selector lasso --retention 0.4\n\n"
        + EPILOG_DATA
    ),
)
@click.argument("data")
@TARGET_OPTION
@TASK_OPTION
@click.option(
    "--selector",
    "-s",
    default="lasso",
    show_default=True,
    help="Selector name: kan-l1, kan-l2, kan-si, kan-ko, lasso, rf, mi, svm-rfe.",
)
@click.option(
    "--retention",
    "-r",
    type=RETENTION,
    default="0.4",
    show_default=True,
    help="Fraction of features kept (0.4 or 40%) or a count (5).",
)
@SEED_OPTION
@click.option(
    "--n-jobs", type=int, default=None, help="Parallel jobs for selectors that use them."
)
@click.option(
    "--out",
    "-o",
    type=click.Path(dir_okay=False),
    help="Also write the ranking to this file (.csv or .json).",
)
@FORMAT_OPTION
def select_command(data, target, task, selector, retention, seed, n_jobs, out, output_format):
    """Rank the features of DATA with one selector and show which are kept."""
    from fsel._io import atomic_file
    from fsel.data import load_dataset
    from fsel.selection import rank_features
    from fsel.selectors import selector_names

    if selector not in selector_names():
        raise FselInputError(
            f"unknown selector {selector!r}; choose from {', '.join(selector_names())}."
        )
    if out is not None and not out.lower().endswith((".csv", ".json")):
        raise FselInputError(f"--out {out!r}: write a .csv or a .json file.")
    dataset = load_dataset(data, target=target, task=task)
    _say_target(dataset)
    ranking = rank_features(dataset, selector, retention, random_state=seed, n_jobs=n_jobs)
    kept = ranking.loc[ranking["kept"], "feature"].tolist()
    payload = {
        "dataset": dataset.name,
        "target": dataset.target,
        "task": dataset.task,
        "selector": selector,
        "retention": retention,
        "n_features": len(ranking),
        "n_selected": len(kept),
        "selected": kept,
        "ranking": ranking.to_dict(orient="records"),
    }
    if out is not None:
        with atomic_file(out) as handle:
            if out.lower().endswith(".json"):
                json.dump(payload, handle, indent=2, default=str)
            else:
                ranking.to_csv(handle, index=False)
    if output_format == "json":
        _echo_json(payload)
        return
    click.echo(
        f"{dataset.name}: target {dataset.target!r} ({dataset.task}), selector {selector}, "
        f"kept {len(kept)} of {len(ranking)} features (retention {retention})"
    )
    width = max(len(name) for name in ranking["feature"])
    click.echo(f"{'rank':>4}  {'feature'.ljust(width)}  {'score':>10}  kept")
    for row in ranking.itertuples():
        mark = "*" if row.kept else ""
        click.echo(f"{row.rank:>4}  {row.feature.ljust(width)}  {row.score:>10.4g}  {mark}")


def _name_list(ctx, param, value):
    """A comma-separated option as a list of names."""
    if value is None:
        return None
    names = [part.strip() for part in value.split(",") if part.strip()]
    if not names:
        raise click.BadParameter("give at least one name", ctx=ctx, param=param)
    return names


def _retention_list(ctx, param, value):
    """A comma-separated list of retention levels (fractions, percentages or counts)."""
    levels = [RETENTION.convert(part, param, ctx) for part in value.split(",") if part.strip()]
    if not levels:
        raise click.BadParameter("give at least one retention level", ctx=ctx, param=param)
    return levels


@cli.command(
    "evaluate",
    epilog=(
        "Example:  fsel evaluate ckd --target class --selectors lasso,rf,kan-si "
        "--retention 0.2,0.4 --n-jobs 2 --out runs/ckd\n\n" + EPILOG_DATA
    ),
)
@click.argument("data")
@TARGET_OPTION
@TASK_OPTION
@click.option(
    "--selectors",
    "-s",
    callback=_name_list,
    help="Comma-separated selectors (default: all eight: "
    "kan-l1,kan-l2,kan-si,kan-ko,lasso,rf,mi,svm-rfe).",
)
@click.option(
    "--retention",
    "-r",
    default="0.2,0.4,0.6",
    show_default=True,
    callback=_retention_list,
    help="Comma-separated retention levels: fractions (0.4 or 40%) or counts (5).",
)
@click.option(
    "--estimators",
    "-e",
    default="linear,lightgbm",
    show_default=True,
    callback=_name_list,
    help="Comma-separated downstream models (cards in estimators/).",
)
@click.option("--folds", type=int, default=5, show_default=True, help="Outer CV folds.")
@click.option("--repeats", type=int, default=1, show_default=True, help="Repeats of the outer CV.")
@SEED_OPTION
@click.option(
    "--n-jobs",
    type=int,
    default=1,
    show_default=True,
    help="Tasks run in parallel (-1: all cores).",
)
@click.option(
    "--backend",
    type=click.Choice(["loky", "dask"]),
    default="loky",
    show_default=True,
    help="Local process pool, or a Dask cluster (see --scheduler).",
)
@click.option(
    "--scheduler",
    metavar="ADDRESS",
    help="Dask scheduler address (tcp://host:8786); without it --backend dask starts "
    "a local cluster of --n-jobs workers.",
)
@click.option(
    "--out",
    "-o",
    type=click.Path(file_okay=False),
    help="Output folder for results.parquet, summary.csv, retention.png "
    "(default: runs/<dataset>).",
)
@FORMAT_OPTION
@click.option(
    "--sample",
    type=click.Choice(["gais"]),
    help="Thin every training fold's rows with GAIS instance selection first, so that "
    "feature and instance selection are measured together (test folds stay whole).",
)
@click.option(
    "--sample-keep",
    type=RETENTION,
    default="0.1",
    show_default=True,
    help="With --sample: rows of each training fold kept, a fraction or a count.",
)
@click.option("--quiet", "-q", is_flag=True, help="No progress bar.")
def evaluate_command(
    data,
    target,
    task,
    selectors,
    retention,
    estimators,
    folds,
    repeats,
    seed,
    n_jobs,
    backend,
    scheduler,
    out,
    output_format,
    sample,
    sample_keep,
    quiet,
):
    """Compare selectors x retention levels x downstream models on DATA with nested CV.

    Prints the primary metric (macro-F1 or R^2) per selector and retention level, the
    all-features baseline, stability and redundancy, and the configuration the 1-SE
    rule would choose.
    """
    from fsel.data import load_dataset
    from fsel.evaluation import RetentionEvaluator
    from fsel.evaluation._results import format_table, overview, summary_payload

    if scheduler and backend != "dask":
        raise FselInputError("--scheduler needs --backend dask.")
    dataset = load_dataset(data, target=target, task=task)
    _say_target(dataset)
    evaluator = RetentionEvaluator(
        selectors=selectors,
        retention=retention,
        estimators=estimators,
        folds=folds,
        repeats=repeats,
        seed=seed,
        n_jobs=n_jobs,
        backend=backend,
        scheduler=scheduler,
        sample=sample,
        sample_params={"keep": sample_keep} if sample else None,
    )
    if quiet:
        results = evaluator.run(dataset)
    else:
        with click.progressbar(
            length=1,
            label=f"evaluating {dataset.name}",
            file=click.get_text_stream("stderr"),
            show_pos=True,
        ) as bar:

            def progress(done: int, total: int) -> None:
                bar.length = total
                bar.update(done - bar.pos)

            results = evaluator.run(dataset, progress=progress)
    out = evaluator.save(out or f"runs/{dataset.name}")
    if output_format == "json":
        _echo_json({**summary_payload(results), "out": str(out)})
        return
    click.echo(f"{dataset.name}: target {dataset.target!r} ({dataset.task}), {folds} folds")
    click.echo(format_table(overview(results), evaluator.choose(results)))
    click.echo(f"wrote {out}/results.parquet, summary.csv, retention.png")


def _windows(ctx, param, value):
    """``NAME=DATA`` pairs, in the order given."""
    windows = {}
    for item in value or ():
        name, sep, source = item.partition("=")
        if not sep or not name.strip() or not source.strip():
            raise click.BadParameter(f"{item!r} is not NAME=DATA", ctx=ctx, param=param)
        if name.strip() in windows:
            raise click.BadParameter(f"window {name.strip()!r} given twice", ctx=ctx, param=param)
        windows[name.strip()] = source.strip()
    return windows


@cli.command(
    "report",
    epilog=(
        "Examples:\n\n\b\n"
        "  fsel report ckd --target class --positive ckd --out runs/ckd-report\n"
        "  fsel report alzheimers --target Class --positive Impaired --group male "
        "--out runs/ad-report\n\n" + EPILOG_DATA
    ),
)
@click.argument("data")
@click.option(
    "--target",
    "-t",
    help="Outcome column (default: the catalog's, or a column "
    "named target/class/label/outcome/y, or the last column).",
)
@click.option(
    "--positive",
    help="The outcome value counted as an event (default: the catalog's, or 1/yes/true).",
)
@click.option(
    "--group",
    "groups",
    multiple=True,
    metavar="COL",
    help="Report subgroups of this column (repeatable; numeric columns in quartiles; "
    "default: the catalog's).",
)
@click.option(
    "--selector",
    "-s",
    default="auto",
    show_default=True,
    help="Selector name, or auto to let AutoSelector choose selector and retention.",
)
@click.option(
    "--retention",
    "-r",
    type=RETENTION,
    default="0.4",
    show_default=True,
    help="Features kept by a named selector: a fraction (0.4 or 40%) or a count (5).",
)
@click.option("--model", "-m", default="linear", show_default=True, help="Downstream-model card.")
@click.option(
    "--compare",
    default="lasso,rf,mi,svm-rfe,kan-si",
    show_default=True,
    callback=_name_list,
    help="Selectors compared in the feature-selection section.",
)
@click.option(
    "--candidates",
    default="lasso,rf,mi,svm-rfe",
    show_default=True,
    callback=_name_list,
    help="Selectors --selector auto chooses among (it evaluates them inside every fold).",
)
@click.option(
    "--window",
    "windows",
    multiple=True,
    metavar="NAME=DATA",
    callback=_windows,
    help="An observation window of the same cohort (repeatable): a name and its table.",
)
@click.option(
    "--threshold",
    "thresholds",
    type=float,
    multiple=True,
    metavar="RISK",
    help="A risk threshold for the threshold table, beside Youden's (repeatable).",
)
@click.option("--folds", type=int, default=5, show_default=True, help="CV folds.")
@click.option("--repeats", type=int, default=2, show_default=True, help="Repeats of the CV.")
@click.option(
    "--bootstrap",
    type=int,
    default=1000,
    show_default=True,
    help="Bootstrap resamples for the 95 % intervals.",
)
@SEED_OPTION
@click.option(
    "--n-jobs",
    type=int,
    default=1,
    show_default=True,
    help="Folds run in parallel (-1: all cores).",
)
@click.option(
    "--out",
    "-o",
    type=click.Path(file_okay=False),
    help="Output folder for report.html and report.json (default: runs/<dataset>-report).",
)
@click.option("--quiet", "-q", is_flag=True, help="Say nothing on stderr while working.")
def report_command(
    data,
    target,
    positive,
    groups,
    selector,
    retention,
    model,
    compare,
    candidates,
    windows,
    thresholds,
    folds,
    repeats,
    bootstrap,
    seed,
    n_jobs,
    out,
    quiet,
):
    """Write a clinical-risk report on DATA's binary outcome: report.html and report.json.

    Cohort (Table 1), feature selection, discrimination, calibration, clinical utility,
    subgroups, explanations, observation windows and the TRIPOD+AI items, with every model
    number out-of-fold from repeated stratified CV and bootstrap 95 % intervals. The HTML
    is one self-contained file.
    """
    import time

    from fsel.data import load_dataset
    from fsel.report import build_report, write_report
    from fsel.report._template import interval

    started = time.perf_counter()
    dataset = load_dataset(data, target=target)
    _say_target(dataset)

    def progress(step: str) -> None:
        if not quiet:
            click.echo(f"fsel report: {step} ...", err=True)

    report = build_report(
        dataset,
        positive=positive,
        groups=groups or None,
        selector=selector,
        retention=retention,
        model=model,
        compare=compare,
        candidates=candidates,
        windows=windows,
        thresholds=thresholds,
        folds=folds,
        repeats=repeats,
        bootstrap=bootstrap,
        seed=seed,
        n_jobs=n_jobs,
        progress=progress,
    )
    out = write_report(out or f"runs/{dataset.name}-report", report)
    click.echo(
        f"{dataset.name}: {report['cohort']['n']} patients, {report['cohort']['events']} "
        f"{report['meta']['positive']}; ROC AUC {interval(report['discrimination']['roc_auc'])}, "
        f"Brier {interval(report['calibration']['brier'])}, "
        f"calibration slope {interval(report['calibration']['slope'], 2)}"
    )
    click.echo(f"wrote {out}/report.html and report.json ({time.perf_counter() - started:.0f} s)")


@cli.command(
    "batch",
    epilog=(
        "Examples:\n\n\b\n"
        "  fsel batch jobs.toml             run what is not done yet\n"
        "  fsel batch jobs.toml --status    show the ledger\n\n"
        "A jobs file (options spelled as on the command line):\n\n\b\n"
        '  root = "runs/nightly"\n'
        "  [[job]]\n"
        '  name = "ckd"\n'
        '  command = "evaluate"\n'
        '  data = "ckd"\n'
        '  target = "class"\n'
        '  selectors = ["lasso", "mi"]\n'
    ),
)
@click.argument("jobs", type=click.Path(dir_okay=False))
@click.option("--force", is_flag=True, help="Rerun jobs that already succeeded with the same key.")
@click.option("--only", multiple=True, metavar="NAME", help="Run only this job (repeatable).")
@click.option("--status", "show_status", is_flag=True, help="Print the run ledger and exit.")
@FORMAT_OPTION
def batch_command(jobs, force, only, show_status, output_format):
    """Run the evaluate/report jobs declared in JOBS (TOML), skipping those already done.

    Each job writes ROOT/<name>/; the ledger ROOT/ledger.sqlite records every run. Exit code
    0 when every job succeeded (or was already done), 1 when some failed.
    """
    from fsel.batch import ledger_rows, load_jobs, run_batch

    jobs_file = load_jobs(jobs)
    if show_status:
        rows = ledger_rows(jobs_file.root)
        if output_format == "json":
            _echo_json(rows)
        elif not rows:
            click.echo(f"no runs recorded under {jobs_file.root}")
        for row in rows if output_format == "table" else ():
            error = f"  {row['error']}" if row["error"] else ""
            click.echo(
                f"{row['id']:>4}  {row['job']:<24} {row['status']:<11} {row['started']}  "
                f"{row['ended'] or '-':<19}  {row['key']}{error}"
            )
        return 0

    def report(kind, job, outcome):
        if kind == "start":
            click.echo(f"fsel batch: {job.name}: running fsel {job.command} {job.data}", err=True)
        elif output_format == "table":
            detail = (
                f" ({outcome.seconds:.1f} s)" if outcome.status in ("succeeded", "failed") else ""
            )
            reason = f": {outcome.error}" if outcome.error else ""
            click.echo(f"{job.name}: {outcome.status}{detail}{reason}")

    outcomes = run_batch(jobs_file, force=force, only=tuple(only), on_event=report)
    if output_format == "json":
        _echo_json([vars(outcome) for outcome in outcomes])
    return 1 if any(outcome.status == "failed" for outcome in outcomes) else 0


@cli.command(
    "sample",
    epilog=(
        "Example:  fsel sample digits --keep 0.04 --out kept.csv\n\n"
        "The kept rows are written as read, with their original row number in a first "
        "column `row`. " + EPILOG_DATA
    ),
)
@click.argument("data")
@click.option("--target", "-t", help="Target column: class labels (default as for select).")
@click.option(
    "--keep",
    "-k",
    type=RETENTION,
    default="0.04",
    show_default=True,
    help="Rows kept: a fraction (0.04 or 4%) or a count (200).",
)
@click.option(
    "--graph",
    type=click.Choice(["minibatch", "hash", "hash-multilevel", "hash-multiview"]),
    default="minibatch",
    show_default=True,
    help="How the row graph is built: k-NN inside stratified mini-batches, or "
    "random-projection hashing at one level, several levels, or several views.",
)
@click.option(
    "--min-per-class",
    type=click.IntRange(min=1),
    default=2,
    show_default=True,
    help="Rows kept at least in every class.",
)
@SEED_OPTION
@click.option("--n-jobs", type=int, default=None, help="Threads for the graph network.")
@click.option(
    "--out",
    "-o",
    required=True,
    type=click.Path(dir_okay=False),
    help="File for the kept rows (.csv, .parquet or .feather).",
)
@FORMAT_OPTION
def sample_command(data, target, keep, graph, min_per_class, seed, n_jobs, out, output_format):
    """Keep the rows of DATA that hold its class structure (GAIS instance selection)."""
    from fsel.data import FORMATS, load_dataset, write_table
    from fsel.sampling import sample_rows

    if Path(out).suffix.lower() not in FORMATS:
        raise FselInputError(f"--out {out!r}: write a .csv, .parquet or .feather file.")
    dataset = load_dataset(data, target=target)
    _say_target(dataset)
    result = sample_rows(
        dataset, keep, graph=graph, min_per_class=min_per_class, random_state=seed, n_jobs=n_jobs
    )
    write_table(result.rows, out, index_label="row")
    payload = {
        "dataset": dataset.name,
        "target": dataset.target,
        "graph": graph,
        "rows_before": sum(result.counts_before.values()),
        "rows_after": sum(result.counts_after.values()),
        "counts_before": result.counts_before,
        "counts_after": result.counts_after,
        "out": str(out),
    }
    if output_format == "json":
        _echo_json(payload)
        return
    click.echo(
        f"{dataset.name}: kept {payload['rows_after']} of {payload['rows_before']} rows "
        f"({graph} graph) -> {out}"
    )
    width = max(len("class"), *(len(label) for label in result.counts_before))
    click.echo(f"{'class'.ljust(width)}  {'before':>7}  {'after':>6}")
    for label, before in result.counts_before.items():
        click.echo(f"{label.ljust(width)}  {before:>7}  {result.counts_after.get(label, 0):>6}")


_TARGET_REASONS = {
    "catalog": "the bundled dataset's target",
    "name": "a usual target name",
    "last column": "the last column",
}


def _say_target(dataset) -> None:
    """Tell on stderr which target was taken when the user did not name it."""
    if dataset.target_source != "given":
        click.echo(
            f"fsel: using {dataset.target!r} as the target ({_TARGET_REASONS[dataset.target_source]}); "
            "pass --target to choose another.",
            err=True,
        )
    if dataset.n_missing_target:
        click.echo(
            f"fsel: left out {dataset.n_missing_target} rows whose target is missing.", err=True
        )


def main(argv: list[str] | None = None) -> None:
    """Entry point of the ``fsel`` console script.

    User mistakes (click usage errors and :class:`FselInputError`) end with one line
    on stderr and exit code 2; only bugs show a traceback (exit 1).
    """
    try:
        code = cli.main(args=argv, prog_name="fsel", standalone_mode=False)
    except click.exceptions.Abort:
        click.echo("fsel: interrupted.", err=True)
        sys.exit(130)
    except click.ClickException as error:
        click.echo(f"fsel: error: {error.format_message()}", err=True)
        sys.exit(error.exit_code)
    except FselInputError as error:
        click.echo(f"fsel: error: {error}", err=True)
        sys.exit(2)
    except KeyboardInterrupt:
        click.echo("fsel: interrupted.", err=True)
        sys.exit(130)
    sys.exit(code if isinstance(code, int) else 0)


if __name__ == "__main__":  # pragma: no cover
    main()
