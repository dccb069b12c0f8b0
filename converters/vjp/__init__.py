"""Graph-to-graph reverse-mode differentiation of ONNX models (one rule per op)."""
