"""`python -m bistand.settings [--markdown | --write-docs | --json]`: the settings, as documented or as resolved."""

from __future__ import annotations

import argparse
import sys

from bistand.settings import load_or_exit
from bistand.settings.docs import DOC, markdown_table, with_table


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bistand.settings", description=__doc__.splitlines()[0])
    what = parser.add_mutually_exclusive_group(required=True)
    what.add_argument("--markdown", action="store_true", help="print docs/configuration.md's table of every setting")
    what.add_argument("--write-docs", action="store_true", help="rewrite that table in docs/configuration.md")
    what.add_argument("--check", action="store_true",
                      help="load the configuration (YAML, environment) and say whether it is valid (exit 2 if not)")
    args = parser.parse_args(argv)
    if args.markdown:
        sys.stdout.write(markdown_table())
    elif args.write_docs:
        DOC.write_text(with_table(DOC.read_text(encoding="utf-8"), markdown_table()), encoding="utf-8")
        print(f"wrote {DOC}")
    else:
        load_or_exit()
        print("configuration valid")
    return 0


if __name__ == "__main__":
    sys.exit(main())
