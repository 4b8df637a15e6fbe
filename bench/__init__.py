"""Benchmarks and calibration runs (`make bench`); results go to docs/."""
