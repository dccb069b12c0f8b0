"""The DGN-AM driver, the experiments, images, official files.

Subpackages, bottom to top (`LAYERS`); a module imports only from its own layer and those
below it (tests/test_layout.py checks it), so the order is the data path:

  official     the release's data files: manifest, checksums, download, `data_path`
  inputs       what a run starts from: the start code, the bound files
  outputs      file formats: result images (the release's writer), collages, labels, traces
  step         one iteration as ONNX: Caffe nets → forward+VJP ONNX (nets), graph composition,
               the fused step graph, the loop's rules (schedule, L2, stop), the ONNX Loop export
  run          running it: the ONNX Runtime runner, the loop, the image encoder, the Job API
               (reproduce.run.job) and a job's files (reproduce.run.save)
  regress      reference runs and the one-iteration-from-the-same-state criterion
  conformance  the exported graphs on other ONNX runtimes
  web          the browser page: a static site running the step graph in onnxruntime-web
  sweep        many jobs: every unit × seed × hyperparameter, resumable, with an atlas
  experiments  the paper's five experiments as Jobs
  cli          one module per `python -m reproduce SUBCOMMAND` (flags → Job → files)
"""

LAYERS = ("official", "inputs", "outputs", "step", "run", "regress", "conformance", "web",
          "sweep", "experiments", "cli")
