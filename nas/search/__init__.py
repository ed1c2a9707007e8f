"""The search: MnasNet's factorized space sampled per trial, each candidate costed, trained and rewarded.

``settings`` (the ``search`` settings and ``SearchConfig``, all a search reads), ``objective``
(the reward, the ``objective`` settings), ``samplers`` and the RL ``controller``, ``prescreen``
(the zero-cost warm-up and proposals a search can use), ``latency`` (measured or predicted),
``job`` (the search as a study), ``outputs`` (trials.csv, best.yaml, summary.json), ``best`` (a
study's best genotype), ``run`` (``run_search``), ``plots`` and ``comparison`` (searches side by
side).  ``python -m nas.search`` is ``__main__``.
"""
