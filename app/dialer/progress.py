"""Live progress of a campaign while a dialer works it: a rich bar on a terminal, plain lines otherwise.

The numbers are contacts (from the store, so they count every dialer of the campaign) plus what this
process's dialer saw itself: the originates it sent and the answering machines it met.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import TracebackType
from typing import TYPE_CHECKING, Protocol

import gevent
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn, TimeElapsedColumn

if TYPE_CHECKING:
    from app.dialer.dialer_setup import RunSummary


class DialerTally(Protocol):
    """What progress reads of a running dialer (``app.dialer.runner.Dialer`` fits)."""

    dialled: int
    voicemails: int


class Counts(Protocol):
    def counts(self, campaign_id: str) -> dict[str, int]: ...


class Runnable(DialerTally, Protocol):
    campaign_id: str

    def run(self, *, exit_when_paused: bool = True) -> RunSummary: ...
    def stop(self) -> None: ...


@dataclass(frozen=True)
class Snapshot:
    """One look at a campaign: contacts by how they ended, and how many are still to finish."""

    total: int
    dialled: int
    answered: int
    voicemail: int
    failed: int
    remaining: int
    eta_s: float | None

    @property
    def finished(self) -> int:
        return self.total - self.remaining

    def line(self) -> str:
        """The snapshot as one plain line (for logs and non-terminal output)."""
        eta = "?" if self.eta_s is None else _duration(self.eta_s)
        return (
            f"dialled {self.dialled}  answered {self.answered}  voicemail {self.voicemail}"
            f"  failed {self.failed}  remaining {self.remaining}/{self.total}  ETA {eta}"
        )


def snapshot(
    counts: Mapping[str, int], tally: DialerTally, *, elapsed_s: float, finished_at_start: int
) -> Snapshot:
    """A :class:`Snapshot` from ``CampaignStore.counts`` and the dialer's own tally.

    The ETA extrapolates this run's pace (contacts finished since it started) to the contacts left.
    """
    contacts = {key: value for key, value in counts.items() if not key.startswith("rejected:")}
    total = sum(contacts.values())
    done_answered = contacts.get("done:answered", 0)
    voicemail = min(tally.voicemails, done_answered)
    failed = sum(v for k, v in contacts.items() if k.startswith("done:") and k != "done:answered")
    remaining = sum(v for k, v in contacts.items() if not k.startswith("done:"))
    finished_now = total - remaining - finished_at_start
    eta = remaining * elapsed_s / finished_now if finished_now > 0 else (0.0 if remaining == 0 else None)
    return Snapshot(total, tally.dialled, done_answered - voicemail, voicemail, failed, remaining, eta)


def _duration(seconds: float) -> str:
    whole = round(seconds)
    if whole < 60:
        return f"{whole}s"
    minutes, secs = divmod(whole, 60)
    if minutes < 60:
        return f"{minutes}m{secs:02d}s"
    return f"{minutes // 60}h{minutes % 60:02d}m"


class ProgressView:
    """Shows snapshots as they change: a live bar when ``console`` is a terminal, else a line per change.

    Use as a context manager; call :meth:`update` whenever there may be news (it is cheap when nothing
    changed).
    """

    def __init__(self, console: Console, title: str, *, clock: Callable[[], float] = time.monotonic) -> None:
        self._console, self._title, self._clock = console, title, clock
        self._progress: Progress | None = None
        self._task = TaskID(0)
        self._last: Snapshot | None = None

    def __enter__(self) -> ProgressView:
        if self._console.is_terminal:
            self._progress = Progress(
                TextColumn("[bold]{task.description}"),
                BarColumn(),
                MofNCompleteColumn(),
                TextColumn("{task.fields[detail]}"),
                TimeElapsedColumn(),
                console=self._console,
            )
            self._progress.start()
            self._task = self._progress.add_task(self._title, total=None, detail="")
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._progress is not None:
            self._progress.stop()

    def update(self, shot: Snapshot) -> None:
        """Show ``shot`` if it differs from the last one shown."""
        if shot == self._last:
            return
        changed = self._last is None or _counts(shot) != _counts(self._last)
        self._last = shot
        if self._progress is not None:
            detail = shot.line().split("  remaining")[0] + f"  ETA {_eta(shot)}"
            self._progress.update(self._task, total=shot.total, completed=shot.finished, detail=detail)
        elif changed:  # plain output: one line per change of the counts, not per ETA tick
            self._console.print(f"{self._title}: {shot.line()}", highlight=False, soft_wrap=True)


def _counts(shot: Snapshot) -> tuple[int, ...]:
    return (shot.total, shot.dialled, shot.answered, shot.voicemail, shot.failed, shot.remaining)


def _eta(shot: Snapshot) -> str:
    return "?" if shot.eta_s is None else _duration(shot.eta_s)


def run_with_progress(
    store: Counts, dialer: Runnable, view: ProgressView, *, poll_s: float = 0.5
) -> RunSummary:
    """Run ``dialer`` to its end while ``view`` shows the campaign's progress; Ctrl-C stops the dialer."""
    started = time.monotonic()

    def look() -> Snapshot:
        counts = store.counts(dialer.campaign_id)
        return snapshot(counts, dialer, elapsed_s=time.monotonic() - started, finished_at_start=at_start)

    at_start = 0
    at_start = look().finished
    worker = gevent.spawn(dialer.run)
    try:
        while not worker.ready():
            view.update(look())
            worker.join(timeout=poll_s)
    except KeyboardInterrupt:
        dialer.stop()
        worker.join(timeout=10)
        raise
    view.update(look())
    summary: RunSummary = worker.get()
    return summary
