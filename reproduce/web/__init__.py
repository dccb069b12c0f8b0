"""The browser page: DGN-AM in a browser tab, from the exported step graph.

`build_site` (reproduce.web.site) writes a static site: the page (web/app/), the step graph,
its settings and labels (reproduce.web.settings) and onnxruntime-web's runtime files, fetched
from the npm registry as web/package-lock.json pins them and cached (reproduce.web.runtime_files);
reproduce.web.serve serves it on 127.0.0.1 with the cross-origin isolation headers threaded
WebAssembly needs. `python -m reproduce web` (reproduce.cli.web) is the command.
"""
