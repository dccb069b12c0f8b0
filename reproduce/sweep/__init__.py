"""Sweeps: every unit of a layer over many seeds and hyperparameters, resumable, with an atlas.

spec (SPEC syntax) → plan (runs, keys, folders, batches) → batch (one Job per batch, run by an
executor: local, or ray_cluster) → commit (images, then rows) into store (OUT_DIR/runs.sqlite,
single writer: lock) → atlas (OUT_DIR/atlas.html) and export (CSV/Parquet); driver ties them
together for `python -m reproduce sweep`.
"""
