"""The ``kpi`` command: ``kpi ingest``, ``kpi build``.

Errors are printed in one line (or one block naming every problem of a file) and the
command exits non-zero; ``--debug`` shows the Python traceback as well.
"""

from __future__ import annotations

import argparse
import gc
import os
import sys
from pathlib import Path
from typing import NoReturn, TextIO

from kpi.errors import DEBUG_ENV, UNEXPECTED_EXIT

VIETNAMESE_SAMPLE = "Tam Đường: sản lượng chè → 10.200 tấn"  # letters, tone marks and an arrow the messages use


def _ingest(args: argparse.Namespace) -> int:
    from kpi import executors, ingest

    pool = executors.executor(args.executor, args.scheduler)
    try:
        result = ingest.run(args.data_dir, mapper=pool.map if pool.name != "local" else None)
    finally:
        pool.close()
    print("\n".join(result.summary_lines))
    return result.exit_code


def prestart_for_build(
    reports_dir: Path, notebooks_dir: Path, data_dir: Path, many: bool, force: bool, jobs: int
) -> bool:
    """Start the warm kernels of a local build first of all, before the build imports pandas and
    ingests, when every report will run (the data must be ingested, or no report was built in
    ``reports_dir`` yet): the kernels import ``kpi.report`` meanwhile, one per job (no more than
    the notebooks).  ``many``: several notebooks or areas (one notebook runs in a kernel of its
    own).  Returns whether it started any; the build then finds them running."""
    from kpi import buildstate
    from kpi.runs import KERNEL_LOG

    notebooks = [p for p in notebooks_dir.glob("*.ipynb") if not p.name.startswith(".")]
    if not (many or len(notebooks) > 1) or not (force or buildstate.nothing_built(reports_dir, data_dir)):
        return False
    reports_dir.mkdir(parents=True, exist_ok=True)
    count = jobs if many else min(jobs, len(notebooks))
    from kpi import engine  # only now: its imports (jupyter_client) are wasted on a rebuild with nothing to do

    engine.prestart(str(reports_dir.resolve() / KERNEL_LOG), str(notebooks_dir.resolve()), count)
    return True


def _build(args: argparse.Namespace) -> int:
    if args.executor == "local" and (args.only is None or args.areas is not None):
        from kpi import config

        prestart_for_build(
            Path(args.reports_dir or config.reports_dir()),
            Path(args.notebooks_dir or config.notebooks_dir()),
            config.DataPaths.of(args.data_dir).root,
            many=args.areas is not None,
            force=args.force,
            jobs=args.jobs,
        )
    from kpi import build

    result = build.build(
        baseline=args.baseline,
        target=args.target,
        area=args.area,
        lang=args.lang,
        jobs=args.jobs,
        force=args.force,
        data_dir=args.data_dir,
        notebooks_dir=args.notebooks_dir,
        reports_dir=args.reports_dir,
        timeout=args.timeout if args.timeout is not None else build.DEFAULT_TIMEOUT_S,
        areas=args.areas,
        executor=args.executor,
        scheduler=args.scheduler,
        only=args.only,
    )
    for failed in result.failed:
        print(f"kpi build: error: {failed.message}", file=sys.stderr)
    print(result.index_path)
    return result.exit_code


def _template(args: argparse.Namespace) -> int:
    from kpi.template import write_template

    out = write_template(args.year, args.out)
    print(f"{out}: data-collection form for {args.year}; fill it in, then `kpi check {out.name}`")
    return 0


def _check(args: argparse.Namespace) -> int:
    from kpi.check import CONSOLE_LINES, check_files

    lines, code = check_files(args.files, args.layout, limit=None if args.all else CONSOLE_LINES)
    print("\n".join(lines))
    return code


def _export(args: argparse.Namespace) -> int:
    from kpi import api, changes, export, params, reorg

    p = params.check(args.baseline, args.target, args.area, "vi", args.data_dir)
    obs = reorg.in_units_of_year(api.load_observations(p.data_dir), p.target_year)  # as the reports compare
    table = changes.compare(
        obs,
        p.baseline_year,
        p.target_year,
        area=None if args.all_areas else p.area_code,
        priority=api.load_priorities(p.data_dir),
    )
    out = export.export(table, args.out, p.baseline_year, p.target_year)
    print(f"{out}: {len(table)} indicators, {p.baseline_year} → {p.target_year}")
    return 0


def _add_years(p: argparse.ArgumentParser) -> None:
    from kpi import config

    p.add_argument(
        "--baseline",
        type=int,
        default=config.DEFAULT_BASELINE_YEAR,
        help=f"baseline year (default: {config.DEFAULT_BASELINE_YEAR})",
    )
    p.add_argument(
        "--target",
        type=int,
        default=config.DEFAULT_TARGET_YEAR,
        help=f"target year (default: {config.DEFAULT_TARGET_YEAR})",
    )
    p.add_argument(
        "--area", default=config.DEFAULT_AREA, help=f"area code (default: {config.DEFAULT_AREA}, Tam Đường district)"
    )


def _add_executor(p: argparse.ArgumentParser, what: str) -> None:
    p.add_argument(
        "--executor",
        choices=("local", "dask"),
        default="local",
        help=f"where {what}: here (default) or on a Dask cluster (needs --scheduler)",
    )
    p.add_argument(
        "--scheduler",
        default=None,
        metavar="ADDRESS",
        help="address of the Dask scheduler, e.g. tcp://127.0.0.1:8786 (with --executor dask)",
    )


def _add_build(sub) -> None:
    from kpi import config

    bld = sub.add_parser("build", help="ingest, execute every notebook and render the HTML reports")
    bld.add_argument(
        "--baseline",
        type=int,
        default=config.DEFAULT_BASELINE_YEAR,
        help=f"baseline year (default: {config.DEFAULT_BASELINE_YEAR})",
    )
    bld.add_argument(
        "--target",
        type=int,
        default=config.DEFAULT_TARGET_YEAR,
        help=f"target year (default: {config.DEFAULT_TARGET_YEAR})",
    )
    where = bld.add_mutually_exclusive_group()
    where.add_argument(
        "--area", default=config.DEFAULT_AREA, help=f"area code (default: {config.DEFAULT_AREA}, Tam Đường district)"
    )
    where.add_argument(
        "--areas",
        default=None,
        metavar="CODES|all",
        help="one set of reports per area: codes separated by commas, or all (every area with data "
        "in the target year, and the district); kernels are reused from one report to the next",
    )
    bld.add_argument(
        "--lang",
        choices=config.LANGS,
        default=config.DEFAULT_LANG,
        help=f"report language (default: {config.DEFAULT_LANG})",
    )
    bld.add_argument(
        "--jobs",
        type=int,
        default=config.DEFAULT_JOBS,
        help=f"notebooks run at a time, each in a kernel of its own (default here: {config.DEFAULT_JOBS})",
    )
    bld.add_argument("--force", action="store_true", help="rebuild every report, even those whose inputs are unchanged")
    bld.add_argument("--timeout", type=int, default=None, help="seconds a cell may run before it fails (default: 600)")
    bld.add_argument("--data-dir", default=None, help="data folder holding raw/ (default: the project's data/)")
    bld.add_argument("--notebooks-dir", default=None, help="notebooks to run (default: the project's notebooks/)")
    bld.add_argument("--reports-dir", default=None, help="where reports are written (default: the project's reports/)")
    bld.add_argument(
        "--only",
        default=None,
        metavar="NOTEBOOKS",
        help="build only these notebooks (stems, comma-separated); names one that is not a report "
        "by default, e.g. --only 00_explore",
    )
    _add_executor(bld, "the raw files are read and the notebooks are run")
    bld.set_defaults(func=_build)


def parser() -> argparse.ArgumentParser:

    p = argparse.ArgumentParser(prog="kpi", description="Tam Đường KPI data package")
    p.add_argument("--debug", action="store_true", help="show Python tracebacks on errors")
    sub = p.add_subparsers(dest="command", required=True)
    ing = sub.add_parser("ingest", help="clean data/raw into data/processed")
    ing.add_argument("--data-dir", default=None, help="data folder holding raw/ (default: the project's data/)")
    _add_executor(ing, "the raw files are read")
    ing.set_defaults(func=_ingest)
    _add_build(sub)
    tpl = sub.add_parser("template", help="write the bilingual data-collection form for a year")
    tpl.add_argument("--year", type=int, required=True, help="the year the figures will refer to")
    tpl.add_argument("--out", required=True, type=Path, help="the .xlsx file to write")
    tpl.set_defaults(func=_template)
    chk = sub.add_parser(
        "check",
        help="check workbooks or CSV files before adding them to data/raw (exit 0 when every one can be ingested)",
    )
    chk.add_argument("files", type=Path, nargs="+", metavar="file")
    chk.add_argument("--layout", default=None, help="layout id (default: guessed from the sheet names or header)")
    chk.add_argument("--all", action="store_true", help="list every problem line (default: the first 20 per file)")
    chk.set_defaults(func=_check)
    exp = sub.add_parser("export", help="write the changes table as a workbook for officials")
    exp.add_argument("--out", required=True, type=Path, help="the .xlsx file to write")
    _add_years(exp)
    exp.add_argument("--all-areas", action="store_true", help="every area, not only --area")
    exp.add_argument("--data-dir", default=None, help="data folder holding processed/ (default: the project's data/)")
    exp.set_defaults(func=_export)
    return p


def console_safe(stream: TextIO) -> None:
    """Let a console that cannot show Vietnamese (a Windows code page such as cp1252) print it
    anyway: characters it cannot encode become '?' instead of ending the run in an error."""
    encoding = getattr(stream, "encoding", None) or "ascii"
    try:
        VIETNAMESE_SAMPLE.encode(encoding)
    except (UnicodeEncodeError, LookupError):
        reconfigure = getattr(stream, "reconfigure", None)
        if reconfigure is not None:
            reconfigure(errors="replace")


def main(argv: list[str] | None = None) -> int:
    console_safe(sys.stdout)
    console_safe(sys.stderr)
    args = parser().parse_args(argv)
    if args.debug:
        os.environ[DEBUG_ENV] = "1"  # worker processes and the readers keep tracebacks too
    try:
        return args.func(args)
    except BrokenPipeError:  # the reader of our output went away (`kpi ingest | head`): nothing to say
        sys.stderr.close()
        return 141
    except KeyboardInterrupt:
        print("kpi: interrupted; previous outputs are intact", file=sys.stderr)
        return 130
    except Exception as exc:  # every error ends in one clear message; --debug shows the traceback
        from kpi.errors import KpiError

        if args.debug:
            raise
        if isinstance(exc, KpiError):
            print(f"kpi {args.command}: error: {exc}", file=sys.stderr)
            return exc.exit_code
        print(
            f"kpi {args.command}: unexpected error: {exc.__class__.__name__}: {exc} (run with --debug for details)",
            file=sys.stderr,
        )
        return UNEXPECTED_EXIT


def command() -> NoReturn:
    """The ``kpi`` command: ``main`` on the command line's arguments, then exit with its code.

    Everything the command made is frozen out of the garbage collector first: at exit Python
    would otherwise walk every object a build or an ingest left (pandas, nbconvert, the data)
    once more, 0.2 s at the end of ``kpi build``.  Only the exit is quicker: objects are
    finalised, files flushed and ``atexit`` handlers run as before.
    """
    code = main()
    gc.freeze()
    sys.exit(code)


if __name__ == "__main__":
    command()
