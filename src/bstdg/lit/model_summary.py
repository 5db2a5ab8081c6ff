"""A compact rich model summary: the layer table and one line of parameter counts."""

from __future__ import annotations

from typing import Any

from pytorch_lightning.callbacks import RichModelSummary
from pytorch_lightning.utilities.model_summary import (
    get_formatted_model_size,
    get_human_readable_count,
)

# Lightning's columns worth showing for a single-spike net (no Mode / FLOPs: FLOPs are 0 for
# the event-driven kernels, and every module is in train mode while fitting)
COLUMNS = (" ", "Name", "Type", "Params", "Params per Device", "In sizes", "Out sizes")


class CompactModelSummary(RichModelSummary):
    """``RichModelSummary`` without the Mode/FLOPs columns, the parameter-free rows (the
    metric objects) and the train/eval-mode lines."""

    @staticmethod
    def summarize(
        summary_data: list[tuple[str, list[str]]],
        total_parameters: int,
        trainable_parameters: int,
        model_size: float,
        total_training_modes: dict[str, int],
        total_flops: int,
        **summarize_kwargs: Any,
    ) -> None:
        from rich import get_console
        from rich.table import Table

        kept = [(name, values) for name, values in summary_data if name in COLUMNS]
        table = Table(header_style=summarize_kwargs.get("header_style", "bold magenta"))
        for name, _ in kept:
            table.add_column(name, justify="right" if name.startswith(("Params", "In", "Out"))
                             else "left", no_wrap=name == "Name", style="dim" if name == " "
                             else None)
        params = [str(v).strip() for v in dict(summary_data).get("Params", [])]
        for k, row in enumerate(zip(*(values for _, values in kept), strict=True)):
            if not params or params[k] != "0":
                table.add_row(*row)
        console = get_console()
        console.print(table)
        console.print(
            f"params: {get_human_readable_count(int(trainable_parameters))} trainable, "
            f"{get_human_readable_count(int(total_parameters))} total, "
            f"{get_formatted_model_size(model_size)} MB"
        )
