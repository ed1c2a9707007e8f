"""``python -m search_spaces.show SPEC``: a genotype's stage table, parameters and FLOPs."""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence

from nas.cli.plain import OneLineParser
from search_spaces.spec import SPEC_HELP
from search_spaces.summary import describe, scaled_genotype, stage_table

PROG = "python -m search_spaces.show"


def main(argv: Sequence[str] | None = None) -> int:
    parser = OneLineParser(prog=PROG, description=__doc__)
    parser.add_argument("spec", metavar="SPEC", help=SPEC_HELP)
    parser.add_argument("--width", type=float, default=1.0, help="width multiplier (default 1.0)")
    parser.add_argument("--depth", type=float, default=1.0, help="depth multiplier (default 1.0)")
    parser.add_argument("--resolution", type=int, help="input resolution (default: the genotype's own)")
    parser.add_argument("--num-classes", type=int, default=1000, help="classifier outputs (default 1000)")
    parser.add_argument("--in-chans", type=int, default=3, help="input channels (default 3)")
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of a table")
    parser.add_argument(
        "--storage",
        metavar="URL",
        help="the study storage search:STUDY is looked up in (default: the study commands' own, sqlite:///runs/studies.db)",
    )
    args = parser.parse_args(argv)
    try:
        from nas.cli.references import resolve_model  # only here: a plain SPEC needs no study machinery

        genotype = resolve_model(args.spec, args.storage)
        if args.num_classes < 1:
            raise ValueError(f"--num-classes must be >= 1, got {args.num_classes}")
        if args.in_chans < 1:
            raise ValueError(f"--in-chans must be >= 1, got {args.in_chans}")
        genotype = scaled_genotype(genotype, args.width, args.depth, args.resolution)
        info = describe(genotype, args.num_classes, args.in_chans)
    except (ValueError, FileNotFoundError) as err:
        print(f"{parser.prog}: error: {' '.join(str(err).split())}", file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps({**info, "width": args.width, "depth": args.depth}))
    else:
        print(stage_table(genotype, info))
    return 0


if __name__ == "__main__":
    sys.exit(main())
