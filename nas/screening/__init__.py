"""Zero-cost screening: ranking candidates without training them.

``scores`` (synflow, naswot, grad_norm, snip, zico), ``scorer`` (each score on one seeded
minibatch of the proxy's data, cached and timed), ``ranking`` (by a score, its negation, or a
vote), ``pool`` (a pool drawn from the space and scored: what ``python -m nas.prescreen`` writes),
``proposals`` (a sampler that trains the best of k proposals), ``plots``.
"""
