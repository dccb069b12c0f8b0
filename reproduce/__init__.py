"""The DGN-AM driver, the experiments, images, official files."""
