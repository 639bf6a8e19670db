"""The ``kpi`` command: ``kpi ingest``, ``kpi build``.

Errors are printed in one line (or one block naming every problem of a file) and the
command exits non-zero; ``--debug`` shows the Python traceback as well.
"""
from __future__ import annotations

import argparse
import sys


def _ingest(args: argparse.Namespace) -> int:
    from kpi import ingest

    result = ingest.run(args.data_dir)
    print("\n".join(result.summary_lines))
    return result.exit_code


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="kpi", description="Tam Đường KPI data package")
    p.add_argument("--debug", action="store_true", help="show Python tracebacks on errors")
    sub = p.add_subparsers(dest="command", required=True)
    ing = sub.add_parser("ingest", help="clean data/raw into data/processed")
    ing.add_argument("--data-dir", default=None, help="data folder holding raw/ (default: the project's data/)")
    ing.set_defaults(func=_ingest)
    return p


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        return args.func(args)
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
        print(f"kpi {args.command}: unexpected error: {exc.__class__.__name__}: {exc} (run with --debug for details)",
              file=sys.stderr)
        return 70


if __name__ == "__main__":
    sys.exit(main())
