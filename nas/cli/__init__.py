"""The command edge: where a command line becomes typed settings and a library call, and results become lines.

``schema`` (every command's config schema, registered with Hydra: one dataclass per section),
``app`` (the one Hydra entry skeleton: typed config, bad input as one line and exit status 2,
progress on the console), ``overrides`` (Hydra's errors in one line, a sweep's worker count, a
run folder that cannot be made), ``references`` (``search:STUDY`` resolved before any library
function sees it), ``plain`` (the argparse commands' one-line usage errors).
"""
