"""A deterministic fuzz harness over the project's input readers (issue 11 item 3).

`python -m tools.fuzz --cases 100000 --seed 0 [--target NAME ...]` mutates small valid
inputs (prototxt text, caffemodel bytes, --bound files, --init_code .npy files, --init_file
images, --mean_file arrays), feeds each case in-process to the real reader and counts each
outcome: ok, user_error (a CaffeError/UserError of one line), crash (any other exception,
or a multi-line error; also a RuntimeWarning, i.e. a silent numeric surprise), hang (past
the per-case time limit). Modules: mutate (generic mutators), seeds (the valid inputs, built
once), targets (one reader call per target), harness (the run, classification, table).
See tools/fuzz/README.md for the last full run's counts.
"""
