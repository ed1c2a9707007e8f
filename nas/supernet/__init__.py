"""The weight-sharing supernet: one network holding every member of a search space.

It is trained once with the sandwich rule and in-place distillation; then any member (a subnet)
is scored with the supernet's weights after its BatchNorm statistics are recalibrated, for the
price of a few forward passes instead of a proxy training.  An evolutionary search ranks thousands
of members this way and the best few are trained stand-alone with the ordinary proxy, so a study's
rewards mean what they mean in every other search.
"""
