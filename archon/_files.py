"""Reading a user's file with a bound, so ``/dev/zero`` or a 50 GB file cannot exhaust memory."""

from __future__ import annotations

from pathlib import Path

#: The largest pipeline, space or template file read (bytes).
MAX_SPEC_BYTES = 8 * 1024 * 1024
#: The largest dataset file read (bytes).
MAX_DATASET_BYTES = 512 * 1024 * 1024


class FileTooLarge(OSError):
    """The file holds more than the limit; ``strerror`` says how much may be read."""

    def __init__(self, limit: int) -> None:
        super().__init__(f"larger than {limit // (1024 * 1024)} MiB (or an endless device)")
        self.strerror = str(self)


class NotUTF8(UnicodeDecodeError):
    """A file that is not UTF-8 text; ``line`` and ``col`` (1-based) locate the first bad byte."""

    line: int
    col: int


def locate(data: bytes | str, offset: int) -> tuple[int, int]:
    """The 1-based line and column of a byte (or character) offset."""
    head = data[:offset]
    nl = b"\n" if isinstance(head, bytes) else "\n"
    return head.count(nl) + 1, offset - (head.rfind(nl) + 1) + 1  # type: ignore[arg-type]


def read_text_limited(path: str | Path, limit: int) -> str:
    """The file's UTF-8 text, read at most ``limit`` bytes.

    Raises:
        FileTooLarge: it holds more than ``limit`` bytes.
        NotUTF8: the bytes are not UTF-8 (located).
        OSError: as :meth:`Path.read_text` does.
    """
    with Path(path).open("rb") as f:
        data = f.read(limit + 1)
    if len(data) > limit:
        raise FileTooLarge(limit)
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        err = NotUTF8(exc.encoding, exc.object, exc.start, exc.end, exc.reason)
        err.line, err.col = locate(data, exc.start)
        raise err from None
