"""Where output goes. edgeplan's own tables, progress and warnings go to the terminal; what
third-party libraries print (onnxruntime's calibration chatter, TFLite's "Created TensorFlow Lite
XNNPACK delegate", NNCF's bars, the root logger's warnings) goes to a log file, so a long
command's screen stays readable and nothing is lost."""

import logging
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import IO

from rich.console import Console

from edgeplan.records.store import default_store_path

console = Console()
err_console = Console(stderr=True)


def default_log_path() -> Path:
    """`$EDGEPLAN_LOG`, else `edgeplan.log` beside the records store."""
    env = os.environ.get("EDGEPLAN_LOG")
    return Path(env) if env else default_store_path().parent / "edgeplan.log"


class _ConsoleHandler(logging.Handler):
    """edgeplan's own warnings, printed through the console (above any progress bar)."""

    def emit(self, record: logging.LogRecord) -> None:
        colour = "red" if record.levelno >= logging.ERROR else "yellow"
        console.print(
            f"[{colour}]{record.levelname.lower()}:[/] {record.getMessage()}", highlight=False
        )


def _terminal(stream: IO[str], fd: int, saved: dict[int, int]) -> IO[str]:
    """A stream to the terminal that survives fd `fd` being pointed at the log: a duplicate of
    the fd when `stream` writes to it, else `stream` itself (a test runner's buffer)."""
    try:
        real = stream.fileno() == fd
    except (AttributeError, OSError, ValueError):
        real = False
    if real and fd in saved:
        return os.fdopen(os.dup(saved[fd]), "w", buffering=1, encoding="utf-8")
    return stream


@contextmanager
def quiet_third_party(log_file: Path | None = None) -> Iterator[Path]:
    """For the duration, fds 1/2, `sys.stdout`/`sys.stderr` and the root logger write to
    `log_file` (appended); edgeplan's consoles and its own warnings keep the terminal."""
    path = log_file or default_log_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    log = path.open("a", buffering=1, encoding="utf-8")
    for stream in (sys.stdout, sys.stderr):
        with suppress(Exception):
            stream.flush()
    saved: dict[int, int] = {}
    for fd in (1, 2):
        with suppress(OSError):
            saved[fd] = os.dup(fd)
            os.dup2(log.fileno(), fd)
    out, err = sys.stdout, sys.stderr
    term_out, term_err = _terminal(out, 1, saved), _terminal(err, 2, saved)
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    file_handler = logging.StreamHandler(log)
    file_handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    ours = _ConsoleHandler(logging.WARNING)
    ours.addFilter(lambda r: r.name.startswith("edgeplan"))
    root.handlers = [file_handler, ours]
    root.setLevel(logging.INFO)
    console.file, err_console.file = term_out, term_err
    sys.stdout = sys.stderr = log
    try:
        yield path
    finally:
        sys.stdout, sys.stderr = out, err
        console.file, err_console.file = None, None  # type: ignore[assignment]
        root.handlers, root.level = handlers, level
        for stream in (term_out, term_err):
            with suppress(Exception):
                stream.flush()
        for fd, dup in saved.items():
            os.dup2(dup, fd)
            os.close(dup)
        for stream, orig in ((term_out, out), (term_err, err)):
            if stream is not orig:
                with suppress(Exception):
                    stream.close()
        log.close()
