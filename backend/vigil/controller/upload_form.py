"""A ``multipart/form-data`` body read as it arrives: one file part streamed, a few small
fields kept.

FastAPI's ``UploadFile`` spools the whole file to a temporary file before the operation
runs: the bytes would be written twice, hashed only afterwards, and a 5 GiB upload would need
5 GiB of temporary disk. Here python-multipart's push parser (the one Starlette uses) turns
each received chunk into events, and the operation hands the file's bytes to the artifact
store's writer at once. Malformed bodies raise :class:`FormError` (a 400 or 422).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Final

from python_multipart.exceptions import MultipartParseError
from python_multipart.multipart import MultipartParser, parse_options_header

MAX_FIELD_BYTES: Final = 1024
MAX_HEADER_BYTES: Final = 8 * 1024
MAX_PARTS: Final = 16


class FormError(ValueError):
    """A body that is not the form it should be; ``field`` names the part concerned."""

    def __init__(self, message: str, field: str | None = None, status: int = 422) -> None:
        super().__init__(message)
        self.field = field
        self.status = status


@dataclass(frozen=True)
class FileStart:
    """The file part begins: its name and media type as the client sent them."""

    file_name: str
    content_type: str


@dataclass(frozen=True)
class FileData:
    data: bytes


@dataclass(frozen=True)
class FileEnd:
    pass


Event = FileStart | FileData | FileEnd


@dataclass
class _Part:
    headers: dict[bytes, bytes] = field(default_factory=dict)
    name: str = ""
    is_file: bool = False
    value: bytearray = field(default_factory=bytearray)


class UploadForm:
    """Feed it the body's chunks; it returns the file's events and keeps the fields.

    ``file_field`` is the one part that must carry a file; ``fields`` the names of the
    others (any other name, or a field sent twice, is a 422, as for a JSON body).
    """

    def __init__(self, content_type: str, *, file_field: str, fields: frozenset[str]) -> None:
        media_type, options = parse_options_header(content_type)
        if media_type != b"multipart/form-data":
            raise FormError("the body must be multipart/form-data", status=415)
        boundary = options.get(b"boundary")
        if not boundary:
            raise FormError("multipart/form-data without a boundary", status=400)
        self.file_field = file_field
        self.allowed = fields
        self.fields: dict[str, str] = {}
        self.saw_file = False
        self.finished = False
        self._events: list[Event] = []
        self._part = _Part()
        self._parts = 0
        self._header_name = bytearray()
        self._header_value = bytearray()
        self._parser = MultipartParser(
            boundary,
            {
                "on_part_begin": self._on_part_begin,
                "on_part_data": self._on_part_data,
                "on_part_end": self._on_part_end,
                "on_header_field": self._on_header_field,
                "on_header_value": self._on_header_value,
                "on_header_end": self._on_header_end,
                "on_headers_finished": self._on_headers_finished,
                "on_end": self._on_end,
            },
        )

    def feed(self, chunk: bytes) -> list[Event]:
        """Parse ``chunk``; the file events it completed, in order."""
        try:
            self._parser.write(chunk)
        except MultipartParseError as exc:
            raise FormError(f"malformed multipart body: {exc}", status=400) from None
        events, self._events = self._events, []
        return events

    def close(self) -> None:
        """The body ended: it must have been complete."""
        try:
            self._parser.finalize()
        except MultipartParseError as exc:
            raise FormError(f"malformed multipart body: {exc}", status=400) from None
        if not self.finished:
            raise FormError("the multipart body ended before its closing boundary", status=400)
        if not self.saw_file:
            raise FormError("a file part is required", self.file_field)

    # --- parser callbacks ----------------------------------------------------------------

    def _on_part_begin(self) -> None:
        self._parts += 1
        if self._parts > MAX_PARTS:
            raise FormError(f"more than {MAX_PARTS} parts")
        self._part = _Part()

    def _on_header_field(self, data: bytes, start: int, end: int) -> None:
        self._header_name += data[start:end]
        self._check_header_size()

    def _on_header_value(self, data: bytes, start: int, end: int) -> None:
        self._header_value += data[start:end]
        self._check_header_size()

    def _check_header_size(self) -> None:
        if len(self._header_name) + len(self._header_value) > MAX_HEADER_BYTES:
            raise FormError(f"a part header is longer than {MAX_HEADER_BYTES} bytes")

    def _on_header_end(self) -> None:
        self._part.headers[bytes(self._header_name).lower()] = bytes(self._header_value)
        self._header_name.clear()
        self._header_value.clear()

    def _on_headers_finished(self) -> None:
        disposition, options = parse_options_header(
            self._part.headers.get(b"content-disposition", b"")
        )
        name = options.get(b"name")
        if disposition != b"form-data" or name is None:
            raise FormError('each part needs Content-Disposition: form-data; name="..."')
        self._part.name = _text(name)
        if self._part.name == self.file_field:
            if self.saw_file:
                raise FormError("only one file per upload", self.file_field)
            self.saw_file = self._part.is_file = True
            file_name = options.get(b"filename")
            content_type = self._part.headers.get(b"content-type", b"application/octet-stream")
            self._events.append(FileStart(_text(file_name or b""), _text(content_type)))
        elif self._part.name not in self.allowed:
            raise FormError("unexpected field", self._part.name)
        elif self._part.name in self.fields:
            raise FormError("field given twice", self._part.name)

    def _on_part_data(self, data: bytes, start: int, end: int) -> None:
        if self._part.is_file:
            self._events.append(FileData(data[start:end]))
            return
        self._part.value += data[start:end]
        if len(self._part.value) > MAX_FIELD_BYTES:
            raise FormError(f"longer than {MAX_FIELD_BYTES} bytes", self._part.name)

    def _on_part_end(self) -> None:
        if self._part.is_file:
            self._events.append(FileEnd())
        else:
            self.fields[self._part.name] = _text(bytes(self._part.value))

    def _on_end(self) -> None:
        self.finished = True


def _text(raw: bytes) -> str:
    """Header and field text: UTF-8 as browsers and httpx send it, else Latin-1 (never
    fails; what it cannot decode it keeps as U+FFFD-free Latin-1 characters)."""
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw.decode("latin-1")
