"""The local executor: the sweep's batches one after the other in this process.

The step graphs are built once per batch size and reused by every batch (one `StepModels`
for the sweep: the schedule, L2 and units are inputs of the step graph, not part of it).
"""
from __future__ import annotations

from collections.abc import Iterator, Sequence

from reproduce.run.job import StepModels
from reproduce.sweep.batch import BatchOutput, run_batch
from reproduce.sweep.plan import Batch
from reproduce.sweep.setup import RunSetup


class LocalExecutor:
    """Runs batches in order, in this process."""

    name = "local"

    def __init__(self, setup: RunSetup, models: StepModels) -> None:
        self.setup, self.models = setup, models

    def run(self, batches: Sequence[Batch]) -> Iterator[BatchOutput]:
        for batch in batches:
            yield run_batch(batch, self.setup, self.models, self.name)

    def close(self) -> None:
        """Nothing to release."""
