"""Generated data sets and tasks: 2-D toy densities, detector-like events, npz scenes with
context masks, and simulators with exact posteriors (linear-Gaussian, squares)."""
