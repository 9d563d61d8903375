"""Camera metadata (EXIF) extraction: exifread first, hardened against hostile and broken files."""

from __future__ import annotations

import io
import logging
import math
import os
import re
import threading
from dataclasses import dataclass, fields
from datetime import datetime
from fractions import Fraction
from typing import Any, BinaryIO

import exifread

try:  # private module: only used to work around shared parser state (see _exifread_tags)
    from exifread.core import heic as _exifread_heic
except ImportError:  # pragma: no cover - a future exifread may move it
    _exifread_heic = None

__all__ = ["Exif", "read_exif"]

# exifread reports every oddity of a broken file as a WARNING on its own logger. Raise only that
# logger's threshold, and only if nobody configured it, so an operator can still turn it on to debug.
_exifread_log = logging.getLogger("exifread")
if _exifread_log.level == logging.NOTSET:
    _exifread_log.setLevel(logging.ERROR)

# Budgets for one file. A sane EXIF block needs at most ~1000 small reads (a few kB); fuzzed files can
# make exifread loop (an ISO-BMFF box of size 1 with a 64-bit size of 0 never advances) or ask for
# gigabyte-long strings. Past the budget the file simply looks truncated, so exifread stops on its own
# and keeps what it has already parsed.
_MAX_READ_CALLS = 10_000
_MAX_READ_BYTES = 4 * 1024 * 1024

# exifread's ISO-BMFF (HEIC/AVIF) parser keeps the boxes it has seen in a class-level dict
# (Box.subs), shared by every call and every thread: one file's 'iinf'/'iloc' can leak into the next.
_BMFF_LOCK = threading.Lock()

# ftyp brands of still images (HEIF, HEIC, AVIF and their sequences), as opposed to mp4/mov/3gp video.
_HEIF_BRANDS = frozenset(
    (b"mif1", b"mif2", b"msf1", b"heic", b"heix", b"heim", b"heis", b"hevc", b"hevx", b"avif", b"avis")
)
# The HEIF fallback reads the whole file into memory; a still photo is far below this.
_MAX_HEIF_FALLBACK_BYTES = 64 * 1024 * 1024

_DATE_RE = re.compile(r"\s*(\d{4})[:\-](\d{2})[:\-](\d{2})[ T](\d{2}):(\d{2}):(\d{2})")
_OFFSET_RE = re.compile(r"[+-](?:[01]\d|2[0-3]):[0-5]\d")
_GPS_DATE_RE = re.compile(r"\s*(\d{4})[:\-](\d{2})[:\-](\d{2})")

# (date tag, matching offset tag), in order of preference for taken_at.
_DATE_SOURCES = (
    ("DateTimeOriginal", "OffsetTimeOriginal"),
    ("DateTimeDigitized", "OffsetTimeDigitized"),
    ("DateTime", "OffsetTime"),
)


@dataclass(frozen=True, slots=True)
class Exif:
    """What a photo service shows about how a picture was taken; every field is optional."""

    camera_make: str | None = None
    camera_model: str | None = None
    lens: str | None = None
    focal_length_mm: float | None = None
    aperture: float | None = None
    shutter_speed: str | None = None
    exposure_time_s: float | None = None
    iso: int | None = None
    gps_lat: float | None = None
    gps_lng: float | None = None
    gps_alt: float | None = None
    orientation: int | None = None
    taken_at: str | None = None
    taken_at_offset: str | None = None

    def to_dict(self) -> dict[str, object]:
        return {f.name: getattr(self, f.name) for f in fields(self)}


def read_exif(path: str | os.PathLike[str]) -> Exif:
    """Read camera metadata from an image file.

    Never raises for bad, missing or garbage metadata: returns Exif() (all None) or whatever could be
    read. Only the metadata is read, never the pixels.
    """
    try:
        tags = _read_tags(path)
    except Exception:
        # Metadata is a nicety: an unreadable file must not fail the upload that carries it.
        return Exif()
    return _build(tags)


# --- locating and parsing the EXIF block ---------------------------------------------------------


class _BudgetedReader:
    """Read-only file wrapper for exifread that turns runaway parsing into an early EOF."""

    def __init__(self, raw: BinaryIO) -> None:
        self._raw = raw
        self._calls = 0
        self._bytes_left = _MAX_READ_BYTES
        self._exhausted = False
        self._position = 0

    def read(self, size: int | None = -1) -> bytes:
        self._calls += 1
        if not self._exhausted and (self._calls > _MAX_READ_CALLS or self._bytes_left <= 0):
            self._exhausted = True
            self._position = self._raw.tell()
        if self._exhausted:
            return b""
        # A negative or huge size comes from a corrupt length field: never slurp a 50 MB file for it.
        want = self._bytes_left if size is None or size < 0 else min(size, self._bytes_left)
        data = self._raw.read(want)
        self._bytes_left -= len(data)
        return data

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        if self._exhausted:
            # exifread may still walk the rest of a 65535-entry IFD; spare it a real seek per field.
            self._position = offset if whence == io.SEEK_SET else self._position
            return self._position
        try:
            return self._raw.seek(offset, whence)
        except (OSError, ValueError, OverflowError):
            # Corrupt offsets point before the start or past 2**63; read on as if at EOF.
            return self._raw.seek(0, io.SEEK_END)

    def tell(self) -> int:
        return self._position if self._exhausted else self._raw.tell()


def _read_tags(path: str | os.PathLike[str]) -> dict[str, Any]:
    with open(path, "rb") as raw:
        head = raw.read(64)
        raw.seek(0)
        kind = _sniff(head)
        tags = _exifread_tags(raw, kind)
        size = raw.seek(0, io.SEEK_END)
    if not _has_exif(tags) and kind in ("jpeg", "png", "heif"):
        # Layouts exifread cannot locate EXIF in: a JPEG whose EXIF APP1 comes after more than ~4 kB
        # of other segments (it scans a fixed-size window), HEIF/AVIF brands other than heic/avif/mif1
        # or with a non-zero minor version, EXIF stored as an ImageMagick "Raw profile type exif" text
        # chunk in PNG. Let libheif / Pillow find the block and still parse it with exifread, so every
        # format goes through the same tag handling.
        blob = _fallback_exif_blob(path, kind, size)
        if blob is not None:
            tags = _exifread_tags(io.BytesIO(blob), "tiff")
    return tags


def _sniff(head: bytes) -> str:
    if head[4:8] == b"ftyp":
        # Videos (mp4, mov, 3gp) share the ISO-BMFF container; only image brands are HEIF/AVIF.
        box_end = min(int.from_bytes(head[:4], "big"), len(head))
        brands = {head[8:12]} | {head[i : i + 4] for i in range(16, box_end - 3, 4)}
        return "heif" if brands & _HEIF_BRANDS else "bmff"
    if head[:8] == b"\x89PNG\r\n\x1a\n":
        return "png"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "webp"
    if head[:2] in (b"II", b"MM"):
        return "tiff"
    if head[:2] == b"\xff\xd8":
        return "jpeg"
    return "other"


def _exifread_tags(raw: BinaryIO, kind: str) -> dict[str, Any]:
    reader: Any = _BudgetedReader(raw)

    def parse() -> dict[str, Any]:
        try:
            # details=False skips maker notes (the slow, most fragile part); no thumbnail either.
            return exifread.process_file(reader, details=False, extract_thumbnail=False)
        except Exception:
            # exifread raises for many broken layouts (asserts, struct errors, bad UTF-8 box names).
            return {}

    if kind not in ("heif", "bmff"):
        return parse()
    with _BMFF_LOCK:
        _reset_exifread_bmff_state()
        return parse()


def _reset_exifread_bmff_state() -> None:
    subs = getattr(getattr(_exifread_heic, "Box", None), "subs", None)
    if isinstance(subs, dict):
        subs.clear()


def _has_exif(tags: dict[str, Any]) -> bool:
    return any(key.split(" ", 1)[0] in ("Image", "EXIF", "GPS") for key in tags)


def _fallback_exif_blob(path: str | os.PathLike[str], kind: str, size: int) -> bytes | None:
    try:
        if kind == "heif":
            if size > _MAX_HEIF_FALLBACK_BYTES:
                return None
            import pillow_heif

            # pillow-heif hands libheif the whole file (hence the size cap) but decodes no pixels here.
            blob = pillow_heif.open_heif(path).info.get("exif")
        else:
            from PIL import Image

            # Image.open reads the segments / chunks before the image data and decodes no pixels.
            with Image.open(path) as image:
                blob = image.info.get("exif")
                profile = image.info.get("Raw profile type exif")
            if not blob and isinstance(profile, str):
                # ImageMagick layout: "\nexif\n<length>\n<hex lines>" (Pillow decodes it the same way).
                blob = bytes.fromhex("".join(profile.split("\n")[3:]))
    except Exception:
        return None
    return _tiff_payload(blob) if isinstance(blob, bytes) else None


def _tiff_payload(blob: bytes) -> bytes | None:
    # EXIF blobs start with "Exif\0\0", sometimes after a 4-byte offset (HEIF) or an APP1 header.
    for magic in (b"II*\x00", b"MM\x00*"):
        start = blob.find(magic, 0, 32)
        if start != -1:
            return blob[start:]
    return None


# --- turning tags into fields --------------------------------------------------------------------


def _build(tags: dict[str, Any]) -> Exif:
    values: dict[str, Any] = {}
    for getter in _FIELD_GETTERS:
        try:
            values.update(getter(tags))
        except Exception:
            # One garbage tag must not cost the others: each getter owns its own fields.
            continue
    return Exif(**values)


def _tag(tags: dict[str, Any], name: str, ifds: tuple[str, ...] = ("EXIF", "Image")) -> Any:
    # Writers disagree on which IFD holds a tag (TIFFs often put EXIF tags in IFD0), so look in the
    # expected one first. IFD1 ("Thumbnail") describes the thumbnail and is never consulted.
    for ifd in ifds:
        tag = tags.get(f"{ifd} {name}")
        if tag is not None:
            return tag
    return None


def _values(tag: Any) -> list[Any]:
    values = getattr(tag, "values", None)
    if isinstance(values, (list, tuple)):
        return list(values)
    return [] if values is None else [values]


def _text(tag: Any) -> str | None:
    values = getattr(tag, "values", None)
    if isinstance(values, bytes):
        # exifread leaves non-UTF-8 ASCII fields as bytes; Latin-1 is what old cameras wrote.
        values = values.decode("latin-1")
    if not isinstance(values, str):
        return None
    cleaned = values.replace("\x00", " ").strip()
    return cleaned or None


def _number(value: Any) -> float | None:
    if isinstance(value, tuple):  # exifread wraps FLOAT/DOUBLE values in 1-tuples
        value = value[0] if value else None
    if isinstance(value, Fraction):
        # exifread keeps x/0 as an unnormalised Ratio; float() on it would divide by zero.
        if value.denominator == 0:
            return None
        result = value.numerator / value.denominator
    elif isinstance(value, (int, float)) and not isinstance(value, bool):
        result = float(value)
    else:
        return None
    return result if math.isfinite(result) else None


def _first_number(tags: dict[str, Any], name: str, ifds: tuple[str, ...] = ("EXIF", "Image")) -> float | None:
    values = _values(_tag(tags, name, ifds))
    return _number(values[0]) if values else None


def _camera(tags: dict[str, Any]) -> dict[str, Any]:
    return {
        "camera_make": _text(_tag(tags, "Make", ("Image", "EXIF"))),
        "camera_model": _text(_tag(tags, "Model", ("Image", "EXIF"))),
    }


def _lens(tags: dict[str, Any]) -> dict[str, Any]:
    lens = _text(_tag(tags, "LensModel"))
    if lens is None:
        lens = _format_lens_spec([_number(v) for v in _values(_tag(tags, "LensSpecification"))])
    return {"lens": lens}


def _format_lens_spec(spec: list[float | None]) -> str | None:
    # LensSpecification = min/max focal length, min/max f-number; 0 or x/0 means unknown.
    if len(spec) != 4 or not spec[0]:
        return None
    short, long, f_short, f_long = spec

    def fmt(x: float) -> str:
        return f"{x:.1f}".removesuffix(".0")

    text = fmt(short) + (f"-{fmt(long)}" if long and long != short else "") + "mm"
    if f_short:
        text += f" f/{fmt(f_short)}" + (f"-{fmt(f_long)}" if f_long and f_long != f_short else "")
    return text


def _optics(tags: dict[str, Any]) -> dict[str, Any]:
    focal = _first_number(tags, "FocalLength")
    aperture = _first_number(tags, "FNumber")
    if not aperture:
        # Older cameras only record the APEX aperture value: N = 2 ** (Av / 2).
        apex = _first_number(tags, "ApertureValue")
        aperture = 2 ** (apex / 2) if apex is not None and 0 <= apex < 64 else None
    return {
        "focal_length_mm": focal if focal and focal > 0 else None,
        "aperture": aperture if aperture and aperture > 0 else None,
    }


def _exposure(tags: dict[str, Any]) -> dict[str, Any]:
    seconds = _first_number(tags, "ExposureTime")
    if seconds is None or seconds <= 0:
        return {}
    return {"exposure_time_s": seconds, "shutter_speed": _format_shutter(seconds)}


def _format_shutter(seconds: float) -> str:
    if seconds < 1:
        denominator = int(1 / seconds + 0.5)
        # "1/N" only when it is honest: 0.4 s is not "1/2", and anything at or below 0.1 s always is.
        if denominator >= 2 and abs(1 / denominator - seconds) <= 0.05 * seconds:
            return f"1/{denominator}"
    return f"{seconds:.1f}".removesuffix(".0")


def _iso(tags: dict[str, Any]) -> dict[str, Any]:
    values = _values(_tag(tags, "ISOSpeedRatings"))
    iso = values[0] if values else None
    # 0 is what some firmwares write when they did not record the sensitivity.
    return {"iso": iso if isinstance(iso, int) and iso > 0 else None}


def _orientation(tags: dict[str, Any]) -> dict[str, Any]:
    values = _values(_tag(tags, "Orientation", ("Image",)))
    value = values[0] if values else None
    return {"orientation": value if isinstance(value, int) and 1 <= value <= 8 else None}


def _gps(tags: dict[str, Any]) -> dict[str, Any]:
    lat = _coordinate(tags, "GPSLatitude", limit=90, negative="S")
    lng = _coordinate(tags, "GPSLongitude", limit=180, negative="W")
    if lat is None or lng is None:
        # Half a position is no position.
        lat = lng = None
    return {"gps_lat": lat, "gps_lng": lng, "gps_alt": _altitude(tags)}


def _coordinate(tags: dict[str, Any], name: str, limit: float, negative: str) -> float | None:
    parts: list[float] = []
    for raw in _values(tags.get(f"GPS {name}")):
        part = _number(raw)
        if part is None or part < 0:  # 0/0, NaN or a sign where none belongs: not a position
            return None
        parts.append(part)
    if not 1 <= len(parts) <= 3:  # degrees, minutes, seconds (some writers leave off the tail)
        return None
    degrees, minutes, seconds = [*parts, 0.0, 0.0][:3]
    value = degrees + minutes / 60 + seconds / 3600
    ref = (_text(tags.get(f"GPS {name}Ref")) or "").upper()[:1]
    if (value == 0 and not ref) or value > limit:
        # An all-zero block without references is a placeholder some apps write, not Null Island.
        return None
    # Without a reference (seen in the wild) the unsigned value is still the best answer.
    return -value if ref == negative and value else value


def _altitude(tags: dict[str, Any]) -> float | None:
    values = _values(tags.get("GPS GPSAltitude"))
    altitude = _number(values[0]) if values else None
    if altitude is None:
        return None
    ref = _values(tags.get("GPS GPSAltitudeRef"))
    return -altitude if ref and ref[0] == 1 else altitude


def _taken_at(tags: dict[str, Any]) -> dict[str, Any]:
    for date_name, offset_name in _DATE_SOURCES:
        taken = _parse_datetime(_text(_tag(tags, date_name)))
        if taken is not None:
            offset = _text(_tag(tags, offset_name))
            return {
                "taken_at": taken.isoformat(),
                "taken_at_offset": offset if offset and _OFFSET_RE.fullmatch(offset) else None,
            }
    taken = _gps_datetime(tags)
    if taken is not None:
        return {"taken_at": taken.isoformat(), "taken_at_offset": "+00:00"}
    return {}


def _parse_datetime(text: str | None) -> datetime | None:
    match = _DATE_RE.match(text or "")
    if match is None:
        return None
    year, month, day, hour, minute, second = (int(part) for part in match.groups())
    try:
        return datetime(year, month, day, hour, minute, second)
    except ValueError:
        # "0000:00:00 00:00:00" and friends are placeholders, not dates.
        return None


def _gps_datetime(tags: dict[str, Any]) -> datetime | None:
    match = _GPS_DATE_RE.match(_text(tags.get("GPS GPSDate")) or "")
    clock = [_number(v) for v in _values(tags.get("GPS GPSTimeStamp"))]
    if match is None or len(clock) != 3:
        return None
    hour, minute, second = clock
    if hour is None or minute is None or second is None:
        return None
    year, month, day = (int(part) for part in match.groups())
    try:
        # GPS time is UTC; sub-second precision is dropped like everywhere else in taken_at.
        return datetime(year, month, day, int(hour), int(minute), int(second))
    except ValueError:
        return None


_FIELD_GETTERS = (_camera, _lens, _optics, _exposure, _iso, _orientation, _gps, _taken_at)
