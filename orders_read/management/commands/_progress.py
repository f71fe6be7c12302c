"""Progress bars (tqdm) for the commands that replay the log: events done, rate, ETA."""

from tqdm import tqdm

from orders_read.models import Rebuild


class ProgressBars:
    """One bar per rebuild, moved to the rebuild's position as it is reported."""

    def __init__(self, out, *, disable: bool = False) -> None:
        self.out = _AsIs(out)
        self.disable = disable
        self.bars: dict[int, tqdm] = {}

    def __enter__(self) -> "ProgressBars":
        return self

    def __exit__(self, *exc) -> None:
        for bar in self.bars.values():
            bar.close()

    def update(self, build: Rebuild) -> None:
        """Show how far `build` has got (its position) of the log's head."""
        bar = self.bars.get(build.pk)
        if bar is None:
            bar = self.bars[build.pk] = tqdm(
                desc=f"{build.kind} {build.projection}",
                total=max(build.head, build.position),
                initial=build.position,
                unit=" events",
                file=self.out,
                disable=self.disable,
                dynamic_ncols=True,
            )
        bar.total = max(bar.total, build.head, build.position)
        bar.update(build.position - bar.n)


class _AsIs:
    """Write to a command's output wrapper without the line ending it adds (tqdm redraws)."""

    def __init__(self, out) -> None:
        self.out = out

    def write(self, text: str) -> None:
        self.out.write(text, ending="")

    def flush(self) -> None:
        self.out.flush()
