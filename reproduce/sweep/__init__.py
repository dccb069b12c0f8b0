"""Sweeps: every unit of a layer over many seeds and hyperparameters, resumable, with an atlas.

spec (SPEC syntax) → plan (runs, keys, folders, batches) → setup (the nets, their identity and
act_max flags) → batch (one Job per batch, run by an executor: local, or ray_cluster) → commit
(images, then rows) into store (OUT_DIR/runs.sqlite, single writer: lock) → atlas
(OUT_DIR/atlas/: atlas_model, atlas_index, atlas_unit, atlas_assets, thumbnails, run_command),
summary (OUT_DIR/summary.png) and export (CSV/Parquet); driver ties them together for
`python -m reproduce sweep`.
"""
