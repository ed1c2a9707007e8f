"""Deployment: a searched genotype trained for good, kept as one file, exported to run elsewhere.

``final`` (the long recipe with a weight average and a resumable, atomic checkpoint after every
epoch), ``model_file`` (``model.pt``: weights, input side, normalisation), ``export`` (ONNX,
pt2 and timm files, each checked against PyTorch), ``formats`` (writing and running each
format), ``readme`` (the exported folder's README).
"""
