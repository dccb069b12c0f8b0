"""The exported DGN-AM in other ONNX runtimes: one step from the same states, compared with
ONNX Runtime in Python (`python -m reproduce conformance`).

cases (feeds on disk, for the node and browser runners) → states (the reference run's states)
→ runtimes (one adapter per runtime) → compare (errors, and where a decision flips, the flip)
→ table (the README's runtime × model table).
"""
