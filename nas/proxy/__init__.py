"""The proxy task: what a candidate is trained on and how, before anything is known about studies.

Datasets as loaded from disk (``raw``, ``datasets``, ``folder``, ``images``, ``npz``), their
device-resident splits (``data``), the training recipe (``recipe``: ``ProxyConfig``, the
``proxy`` settings), the trainer and its evaluation (``trainer``, ``evaluation``), the proxy task
as one value and one run of it (``task``), the device a worker trains on (``device``), and the
safe points at which a run stops on Ctrl-C or SIGTERM (``stopping``).
"""
