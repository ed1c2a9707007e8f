"""The proxy task: offline datasets, device-resident splits, and the short trainer that scores a genotype."""
