"""kedro-datasets' ``matplotlib.MatplotlibDataset`` (the report figures), saving whole-or-nothing.

Like the tables' datasets in :mod:`.reports`, and apart from them: matplotlib is imported
with this module, and only the runs that draw a figure build this dataset.
"""

from __future__ import annotations

from kedro_datasets.matplotlib import MatplotlibDataset
from matplotlib.figure import Figure

from .reports import save_location


class AtomicMatplotlibDataset(MatplotlibDataset):
    """``matplotlib.MatplotlibDataset`` whose single-figure saves are atomic."""

    def save(self, data: Figure | list | dict) -> None:
        """Render one figure, saved whole or not at all (:mod:`.storage`)."""
        if not isinstance(data, Figure):
            super().save(data)  # several figures: the parent's folder layout
            return
        target = save_location(self)
        save_args = {"format": target.path.suffix.lstrip(".") or "png", **self._save_args}
        with target.writing() as tmp:
            data.savefig(tmp, **save_args)
        self._invalidate_cache()
