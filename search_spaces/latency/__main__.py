"""``python -m search_spaces.latency``: measure a genotype's latency, or build a space's lookup table.

    python -m search_spaces.latency measure efficientnet_b0               # median and IQR, ms
    python -m search_spaces.latency build efficientnet_b0                 # the table of its space

``build`` times every distinct layer of the MnasNet space around SPEC at the target input on
``--device`` with ``--threads`` threads, fits the overhead on ``--calibration`` measured members and
writes the table (default: ``runs/latency/<reference>-<device>-...json``, where a search with
``objective.latency=predicted`` looks for it).
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path

from nas.cli.plain import OneLineParser
from nas.cli.references import resolve_model
from search_spaces.cost import Target
from search_spaces.latency.measure import measure_latency
from search_spaces.latency.table import build_table, default_table_path
from search_spaces.mnasnet import mnasnet_space
from search_spaces.spec import SPEC_HELP

PROG = "python -m search_spaces.latency"
TABLE_ROOT = Path("runs/latency")


def parser() -> OneLineParser:
    top = OneLineParser(prog=PROG, description=__doc__.split("\n")[0])
    commands = top.add_subparsers(dest="command", required=True, parser_class=OneLineParser)
    for name, text in (("measure", "measure one genotype"), ("build", "build the lookup table of SPEC's space")):
        sub = commands.add_parser(name, help=text)
        sub.add_argument("spec", metavar="SPEC", help=SPEC_HELP)
        sub.add_argument("--resolution", type=int, default=224, help="target input side (default 224)")
        sub.add_argument("--num-classes", type=int, default=1000, help="classifier outputs (default 1000)")
        sub.add_argument("--in-chans", type=int, default=3, help="input channels (default 3)")
        sub.add_argument("--device", default="cpu", help="cpu, cuda or cuda:N (default cpu)")
        sub.add_argument("--threads", type=int, default=1, help="CPU threads while timing (default 1)")
        sub.add_argument("--batch-size", type=int, default=1, help="images per timed batch (default 1)")
        sub.add_argument(
            "--min-run-time", type=float, default=0.5, help="seconds of timed runs per genotype measured (default 0.5)"
        )
        sub.add_argument(
            "--storage",
            metavar="URL",
            help="the study storage search:STUDY is looked up in (default sqlite:///runs/studies.db)",
        )
    build = commands.choices["build"]
    build.add_argument("--calibration", type=int, default=20, help="members measured to fit the overhead (default 20)")
    build.add_argument("--seed", type=int, default=0, help="which members calibrate (default 0)")
    build.add_argument("--entry-time", type=float, default=0.05, help="seconds of timed runs per layer (default 0.05)")
    build.add_argument("--out", type=Path, help=f"the table file (default: under {TABLE_ROOT}/)")
    build.add_argument("--no-progress", action="store_true", help="no progress bar")
    return top


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        genotype = resolve_model(args.spec, args.storage)
        target = Target(
            args.resolution,
            args.num_classes,
            args.in_chans,
            args.device,
            args.threads,
            args.batch_size,
            args.min_run_time,
        )
        if args.command == "measure":
            latency = measure_latency(genotype, target)
            print(
                f"{genotype.name}: {latency.median_ms:.3f} ms median, IQR {latency.iqr_ms:.3f} ms over "
                f"{latency.runs} runs ({target.latency_identity()['device']}, {target.threads} threads, "
                f"batch {target.batch_size}, {target.resolution} px)"
            )
            return 0
        space = mnasnet_space(genotype)
        out = args.out or default_table_path(space, target, TABLE_ROOT)
        table = build_table(
            space, target, args.calibration, args.seed, not args.no_progress, entry_time=args.entry_time
        )
        table.save(out)
    except (OSError, ValueError) as err:
        print(f"{PROG}: error: {' '.join(str(err).split())}", file=sys.stderr)
        return 2
    errors = [
        abs(table.fitted(r["entry_sum_ms"], r["layers"]) - r["measured_ms"]) / r["measured_ms"]
        for r in table.calibration
    ]
    print(
        f"{len(table.entries)} entries timed in {table.build_seconds:.0f} s; overhead {table.constant_ms:.3f} ms "
        f"+ {table.per_layer_ms:.4f} ms per layer; calibration error {100 * max(errors):.1f}% at most -> {out}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
