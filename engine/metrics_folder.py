"""The Prometheus multi-process folder kept bounded: dead processes folded into archives.

With PROMETHEUS_MULTIPROC_DIR set, prometheus_client gives every process that counts
a file per metric type, named after its pid (`counter_<pid>.db`, `histogram_<pid>.db`,
`gauge_<mode>_<pid>.db`), and a scrape reads every `*.db` file of the folder. Files of
a process that exits stay, so that totals keep what it counted; but the RQ worker forks
a process for every job, so the folder grew by thousands of files an hour and each
scrape read them all. `fold_dead_processes` sums the files of processes that are gone
into one archive per type, in prometheus_client's own format (`MmapedDict`, the same
keys), and deletes them: the folder then holds the live processes' files, a few
archives, and nothing that grows with time.

What folding keeps, by file type (prometheus_client's merge rules, applied early):

- counters, histograms (each bucket, the sum) and summaries: the values summed, so a
  scrape's totals are the same before and after;
- gauges in `min`, `max`, `sum`, `mostrecent` mode: the minimum, maximum, sum, or the
  value with the latest timestamp, which is what the scrape would have picked;
- gauges in a `live*` mode: deleted, as `multiprocess.mark_process_dead` does;
- gauges in `all` mode: left as they are, one series per pid, alive or dead, as
  prometheus_client documents; the service declares none (a test checks).

Safety. Folding and reading hold one `flock` of the folder (`.fold.lock`), exclusive:
a scrape never sees a file's counts both in an archive and in its file, nor in
neither, and two processes folding at once fold each file once. A pid can be reused
by a new process, which would then open the dead one's file and carry on counting in
it: each file is first renamed into `folding/` (a new process opening the old name
from then on makes a fresh file), and the pid checked again; one alive by then gets
its file back, unfolded. A fold interrupted midway (the process killed) is finished or
rolled back by the next one: the new archives are written beside the old ones as
`*.db.new`, and the marker `folding/COMMITTED` is what makes them the archives; before
it, the files in `folding/` are folded again from the old archives.

Imports neither Flask nor RQ: the web app folds at start and at each scrape of
/metrics (web.monitoring), and each job run folds after its work (jobs.tasks).
"""

from __future__ import annotations

import fcntl
import os
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from prometheus_client.mmap_dict import MmapedDict

LOCK_NAME = ".fold.lock"
STAGING = "folding"  # not read by a scrape: it reads the folder's own *.db files only
COMMITTED = "COMMITTED"
ARCHIVE = "archive"  # the pid part of an archive's name: `counter_archive.db`
NEW = ".new"

# counter_123.db, histogram_123.db, summary_123.db, gauge_livesum_123.db
PROCESS_FILE = re.compile(r"^(?P<prefix>[a-z]+(?:_[a-z]+)?)_(?P<pid>\d+)\.db$")
SUMMED = frozenset({"counter", "histogram", "summary", "gauge_sum"})
GAUGE_PICKS = frozenset({"gauge_min", "gauge_max", "gauge_mostrecent"})
FOLDED = SUMMED | GAUGE_PICKS  # gauge_all: kept, one series per pid, dead or alive


def process_alive(pid: int) -> bool:
    """Whether `pid` is a running process (another user's counts as running)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


@contextmanager
def folder_lock(directory: str | os.PathLike) -> Iterator[None]:
    """The folder's exclusive lock, held by a fold and by a scrape's read."""
    fd = os.open(Path(directory) / LOCK_NAME, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # closing the descriptor releases the lock


def fold_dead_processes(
    directory: str | os.PathLike, alive: Callable[[int], bool] = process_alive
) -> int:
    """Fold the files of every process gone into the archives; returns the files folded.

    Takes the folder's lock; `alive` is injectable so a test can play a reused pid.
    """
    with folder_lock(directory):
        return fold_locked(Path(directory), alive)


def fold_locked(directory: Path, alive: Callable[[int], bool] = process_alive) -> int:
    """`fold_dead_processes` for a caller that already holds the folder's lock."""
    staging = directory / STAGING
    _finish_interrupted(directory, staging)
    for path in sorted(directory.glob("*.db")):
        match = PROCESS_FILE.match(path.name)
        if match is None or alive(int(match["pid"])):
            continue
        if match["prefix"].startswith("gauge_live"):
            path.unlink(missing_ok=True)  # what mark_process_dead does
            continue
        if match["prefix"] not in FOLDED:
            continue
        staging.mkdir(exist_ok=True)
        staged = staging / path.name
        os.rename(path, staged)
        if alive(int(match["pid"])):
            _give_back(staged, path)
    sources = sorted(staging.glob("*.db")) if staging.is_dir() else []
    if not sources:
        return 0
    by_prefix: dict[str, list[Path]] = {}
    for path in sources:
        by_prefix.setdefault(PROCESS_FILE.match(path.name)["prefix"], []).append(path)
    written = [_write_archive(directory, prefix, paths) for prefix, paths in by_prefix.items()]
    (staging / COMMITTED).touch()  # from here on, the new archives hold the sources
    _commit(written, sources, staging)
    return len(sources)


def archive_path(directory: Path, prefix: str) -> Path:
    return directory / f"{prefix}_{ARCHIVE}.db"


def _give_back(staged: Path, original: Path) -> None:
    """A pid alive again after its file was moved: a new process with the dead one's pid
    may have opened the file before the move and be counting in it, so the file goes
    back and stays unfolded. If the new process already made a fresh file under the old
    name, it opened that one, not this: this one stays to be folded."""
    try:
        os.link(staged, original)
    except FileExistsError:
        return
    staged.unlink()


def _write_archive(directory: Path, prefix: str, sources: list[Path]) -> Path:
    """The archive of `prefix` with `sources` folded in, written as `<archive>.new`."""
    archive = archive_path(directory, prefix)
    values: dict[str, tuple[float, float]] = {}
    for path in [archive, *sources] if archive.exists() else sources:
        for key, value, timestamp in _read(path):
            values[key] = _combine(prefix, values.get(key), (value, timestamp))
    new = archive.with_name(archive.name + NEW)
    new.unlink(missing_ok=True)
    archived = MmapedDict(str(new))
    try:
        for key, (value, timestamp) in values.items():
            archived.write_value(key, value, timestamp)
    finally:
        archived.close()
    return new


def _read(path: Path) -> Iterator[tuple[str, float, float]]:
    """A file's (key, value, timestamp); nothing for one its process never filled (a
    process killed between creating the file and sizing it leaves it empty)."""
    if path.stat().st_size == 0:
        return
    for key, value, timestamp, _ in MmapedDict.read_all_values_from_file(str(path)):
        yield key, value, timestamp


def _combine(
    prefix: str, current: tuple[float, float] | None, new: tuple[float, float]
) -> tuple[float, float]:
    """Two processes' (value, timestamp) of one key, as the scrape would merge them."""
    if current is None:
        return new
    if prefix in SUMMED:
        return current[0] + new[0], 0.0
    if prefix == "gauge_min":
        return min(current, new, key=lambda pair: pair[0])
    if prefix == "gauge_max":
        return max(current, new, key=lambda pair: pair[0])
    return new if new[1] > current[1] else current  # gauge_mostrecent


def _commit(written: list[Path], sources: list[Path], staging: Path) -> None:
    """Put the new archives in place and delete what they now hold (idempotent: the
    next fold repeats it after an interruption)."""
    for new in written:
        if new.exists():
            os.replace(new, new.with_name(new.name.removesuffix(NEW)))
    for path in sources:
        path.unlink(missing_ok=True)
    (staging / COMMITTED).unlink(missing_ok=True)


def _finish_interrupted(directory: Path, staging: Path) -> None:
    """After a fold killed midway: with its marker, finish it; without, drop its
    unfinished archives (the files it moved are folded again, from the old archives)."""
    if not staging.is_dir():
        return
    written = sorted(directory.glob(f"*_{ARCHIVE}.db{NEW}"))
    if (staging / COMMITTED).exists():
        _commit(written, sorted(staging.glob("*.db")), staging)
        return
    for new in written:
        new.unlink()


def folder_files(directory: str | os.PathLike) -> list[str]:
    """The names of the files a scrape reads (the folder's `*.db`), sorted."""
    return sorted(path.name for path in Path(directory).glob("*.db"))
