"""photoshare.imaging.exif: the real-photo corpus against its ExifTool oracle, plus hand-built EXIF blocks."""

from __future__ import annotations

import functools
import json
import logging
import math
import os
import re
import struct
import time
import tracemalloc
from collections.abc import Sequence
from dataclasses import fields
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from photoshare.imaging.exif import Exif, read_exif

CORPUS = Path(os.environ.get("PHOTOSHARE_CORPUS", Path(__file__).resolve().parents[2] / "shared" / "corpus"))
ORACLE = CORPUS / "oracle.json"

_CANON_CIFF = "no EXIF at all: ExifTool reads Canon's pre-EXIF CIFF (HEAPJPGM) APP0 block"

# Where exifread (EXIF only, no maker notes, no XMP) cannot or should not agree with ExifTool.
# test_oracle_field asserts each of these still disagrees, so a fixed one must be removed from here.
KNOWN_EXCEPTIONS: dict[tuple[str, str], str] = {
    ("exif-samples/jpg/Nikon_D70.jpg", "lens"): "ExifTool's lens is XMP aux:Lens; the EXIF block has none",
    ("pillow/exif_gps_typeerror.jpg", "lens"): "ExifTool's lens is XMP aux:Lens; the EXIF block has none",
    ("pillow/invalid-exif-without-x-resolution.jpg", "lens"): (
        "ExifTool's lens is XMP exifEX:LensModel; the EXIF block has none"
    ),
    ("exif-samples/jpg/tests/42_IndexError.jpg", "lens"): "lens name only in the Olympus maker note",
    ("exif-samples/jpg/tests/35-empty.jpg", "iso"): "ISO only in the Casio maker note",
    ("exif-samples/jpg/exif-org/kodak-dc240.jpg", "iso"): "ISO only in the Kodak maker note (and 65535)",
    ("exif-samples/jpg/exif-org/olympus-d320l.jpg", "aperture"): (
        "no EXIF at all: ExifTool reads Olympus' pre-EXIF JFXX/APP data"
    ),
    ("exif-samples/jpg/exif-org/sony-powershota5.jpg", "camera_make"): _CANON_CIFF,
    ("exif-samples/jpg/exif-org/sony-powershota5.jpg", "camera_model"): _CANON_CIFF,
    ("exif-samples/jpg/exif-org/sony-powershota5.jpg", "aperture"): _CANON_CIFF,
    ("exif-samples/jpg/tests/87_OSError.jpg", "gps_alt"): (
        "GPSAltitudeRef is missing, so ExifTool's Composite altitude is empty; EXIF's default ref is "
        "'above sea level' and we keep 42.1 m (the photo is in Florence, ~50 m)"
    ),
    ("pillow/exif_gps.jpg", "lens"): (
        "no LensModel; we fall back to LensSpecification (1/1 1/1 1/1 1/1 -> '1mm f/1') by design"
    ),
    ("pillow/hopper_bad_exif.jpg", "orientation"): (
        "IFD0's entry count overruns the block: ExifTool drops all of IFD0, exifread and Pillow keep the "
        "entries that are there (Orientation 1, which is what the decoder applies)"
    ),
    ("pillow/invalid-exif.jpg", "orientation"): (
        "TIFF byte-order mark is 0xFFFF: ExifTool rejects the block, exifread reads it big-endian "
        "(Orientation 1 = no rotation, harmless)"
    ),
    ("pillow/invalid-exif.jpg", "taken_at"): (
        "same 0xFFFF byte-order mark; the DateTime exifread reads (2017-03-13 23:03:09) matches the "
        "file's XMP CreateDate"
    ),
}

FIELDS = [f.name for f in fields(Exif)]
ORACLE_FIELDS = [name for name in FIELDS if name != "shutter_speed"]  # ExifTool -n has no shutter text
GPS_FIELDS = {"gps_lat", "gps_lng", "gps_alt"}
INT_FIELDS = {"iso", "orientation"}
FLOAT_FIELDS = {"focal_length_mm", "aperture", "exposure_time_s"} | GPS_FIELDS

_ORACLE_DATE = re.compile(r"(\d{4}):(\d{2}):(\d{2}) (\d{2}):(\d{2}):(\d{2})")
_ORACLE_OFFSET = re.compile(r"[+-]\d{2}:\d{2}")


@functools.cache
def _oracle() -> dict[str, dict[str, Any]]:
    if not ORACLE.is_file():
        return {}
    files: dict[str, dict[str, Any]] = json.loads(ORACLE.read_text())["files"]
    return {rel: entry for rel, entry in files.items() if (CORPUS / rel).is_file()}


needs_corpus = pytest.mark.skipif(not ORACLE.is_file(), reason=f"photo corpus not found at {CORPUS}")


@functools.cache
def _read_corpus_file(rel: str) -> tuple[Exif, float]:
    started = time.perf_counter()
    exif = read_exif(CORPUS / rel)
    return exif, time.perf_counter() - started


def _oracle_date(text: Any) -> str | None:
    match = _ORACLE_DATE.fullmatch(text.strip()) if isinstance(text, str) else None
    if match is None:
        return None
    try:
        return datetime(*(int(part) for part in match.groups())).isoformat()
    except ValueError:
        return None


def _expected(entry: dict[str, Any]) -> dict[str, Any]:
    """The oracle's values in our field names and conventions."""

    def text(key: str) -> str | None:
        value = entry.get(key)
        return (value.strip(" \t\r\n\x00") or None) if isinstance(value, str) else None

    # taken_at follows the module's documented precedence, applied to what ExifTool read.
    taken_at = offset = None
    for key in ("DateTimeOriginal", "CreateDate", "ModifyDate"):
        taken_at = _oracle_date(entry.get(key))
        if taken_at:
            # The oracle only carries OffsetTimeOriginal: no file here has OffsetTime/OffsetTimeDigitized.
            raw_offset = entry.get("OffsetTimeOriginal") if key == "DateTimeOriginal" else None
            offset = raw_offset if isinstance(raw_offset, str) and _ORACLE_OFFSET.fullmatch(raw_offset) else None
            break
    else:
        gps_time = entry.get("GPSDateTime")  # "2008:10:23 14:27:07.24Z", UTC
        taken_at = _oracle_date(gps_time[:19]) if isinstance(gps_time, str) else None
        offset = "+00:00" if taken_at else None

    return {
        "camera_make": text("Make"),
        "camera_model": text("Model"),
        "lens": text("LensModel"),
        "focal_length_mm": entry.get("FocalLength"),
        "aperture": entry.get("FNumber"),
        "exposure_time_s": entry.get("ExposureTime"),
        "iso": entry.get("ISO") or None,  # ISO 0 = "not recorded"; we report None
        "gps_lat": entry.get("GPSLatitude"),
        "gps_lng": entry.get("GPSLongitude"),
        "gps_alt": entry.get("GPSAltitude"),
        "orientation": entry.get("Orientation") or None,  # ExifTool 0 = invalid; we report None
        "taken_at": taken_at,
        "taken_at_offset": offset,
    }


def _agrees(field: str, ours: Any, expected: Any) -> bool:
    if expected is None or ours is None:
        return ours is None and expected is None
    if field in INT_FIELDS:
        return type(ours) is int and ours == expected
    if field in FLOAT_FIELDS:
        if not isinstance(ours, float):
            return False
        if field in GPS_FIELDS:
            return math.isclose(ours, expected, rel_tol=0, abs_tol=1e-5)
        return math.isclose(ours, expected, rel_tol=1e-3)
    return isinstance(ours, str) and ours.strip(" \t\r\n\x00") == expected


def _oracle_cases() -> list[Any]:
    return [pytest.param(rel, field, id=f"{rel}::{field}") for rel in sorted(_oracle()) for field in ORACLE_FIELDS]


# --- the corpus against ExifTool -------------------------------------------------------------------


@needs_corpus
@pytest.mark.parametrize(("rel", "field"), _oracle_cases())
def test_oracle_field(rel: str, field: str) -> None:
    ours = getattr(_read_corpus_file(rel)[0], field)
    expected = _expected(_oracle()[rel])[field]
    reason = KNOWN_EXCEPTIONS.get((rel, field))
    if reason is None:
        assert _agrees(field, ours, expected), f"{rel}: {field} is {ours!r}, ExifTool says {expected!r}"
    else:
        assert not _agrees(field, ours, expected), (
            f"{rel}: {field} now agrees with ExifTool ({ours!r}); remove it from KNOWN_EXCEPTIONS ({reason})"
        )


@needs_corpus
def test_known_exceptions_name_real_files_and_fields() -> None:
    for rel, field in KNOWN_EXCEPTIONS:
        assert rel in _oracle(), f"KNOWN_EXCEPTIONS names {rel}, which is not in the corpus"
        assert field in ORACLE_FIELDS, f"KNOWN_EXCEPTIONS names unknown field {field!r}"


@needs_corpus
@pytest.mark.parametrize("rel", sorted(_oracle()))
def test_oracle_file_is_read_quickly_and_consistently(rel: str) -> None:
    exif, seconds = _read_corpus_file(rel)
    assert seconds < 1.0, f"{rel}: read_exif took {seconds:.2f} s"
    assert (exif.shutter_speed is None) == (exif.exposure_time_s is None), rel
    assert (exif.gps_lat is None) == (exif.gps_lng is None), rel


@needs_corpus
def test_every_corpus_file_survives() -> None:
    # Includes the videos and files the oracle leaves out: nothing may raise or stall.
    for path in sorted(p for p in CORPUS.rglob("*") if p.is_file()):
        started = time.perf_counter()
        assert isinstance(read_exif(path), Exif), path
        assert time.perf_counter() - started < 1.0, path


@needs_corpus
def test_heic_from_an_iphone() -> None:
    exif = read_exif(CORPUS / "exif-samples" / "heic" / "IMG_5195.HEIC")
    assert exif.camera_make == "Apple"
    assert exif.camera_model == "iPhone 11 Pro Max"
    assert exif.gps_lat == pytest.approx(39.0513444, abs=1e-5)
    assert exif.gps_lng == pytest.approx(-94.2887722, abs=1e-5)
    assert exif.shutter_speed == "1/391"
    assert exif.taken_at == "2021-04-11T15:47:53"
    assert exif.taken_at_offset == "-05:00"


# --- hand-built EXIF blocks ------------------------------------------------------------------------

# (tag, type, value): type is one of _TYPES; ASCII values are str (NUL-terminated here) or raw bytes.
Entry = tuple[int, str, Any]
_TYPES = {"byte": 1, "ascii": 2, "short": 3, "long": 4, "rational": 5, "srational": 10}

MAKE, MODEL, ORIENTATION, DATETIME = 0x010F, 0x0110, 0x0112, 0x0132
EXPOSURE, FNUMBER, ISO, DATETIME_ORIGINAL, DATETIME_DIGITIZED = 0x829A, 0x829D, 0x8827, 0x9003, 0x9004
OFFSET_TIME, OFFSET_TIME_ORIGINAL, OFFSET_TIME_DIGITIZED = 0x9010, 0x9011, 0x9012
APERTURE_VALUE, FOCAL_LENGTH, LENS_SPECIFICATION, LENS_MODEL = 0x9202, 0x920A, 0xA432, 0xA434
LAT_REF, LAT, LNG_REF, LNG, ALT_REF, ALT, GPS_TIME, GPS_DATE = 1, 2, 3, 4, 5, 6, 7, 0x1D


def _encode(kind: str, value: Any) -> tuple[int, bytes]:
    if kind == "ascii":
        data = value if isinstance(value, bytes) else value.encode("latin-1") + b"\x00"
        return len(data), data
    if kind in ("rational", "srational"):
        fmt = ">II" if kind == "rational" else ">ii"
        return len(value), b"".join(struct.pack(fmt, num, den) for num, den in value)
    fmt = {"byte": ">B", "short": ">H", "long": ">I"}[kind]
    return len(value), b"".join(struct.pack(fmt, v) for v in value)


def _ifd(entries: list[Entry], offset: int) -> bytes:
    """One big-endian IFD at `offset` in the TIFF block, with out-of-line values right after it."""
    entries = sorted(entries, key=lambda entry: entry[0])
    data_start = offset + 2 + 12 * len(entries) + 4
    table, data = [struct.pack(">H", len(entries))], b""
    for tag, kind, value in entries:
        count, payload = _encode(kind, value)
        if len(payload) <= 4:
            inline = payload.ljust(4, b"\x00")
        else:
            inline = struct.pack(">I", data_start + len(data))
            data += payload + b"\x00" * (len(payload) % 2)
        table.append(struct.pack(">HHI", tag, _TYPES[kind], count) + inline)
    table.append(b"\x00\x00\x00\x00")  # no next IFD
    return b"".join(table) + data


def _tiff(ifd0: Sequence[Entry] = (), exif: Sequence[Entry] = (), gps: Sequence[Entry] = ()) -> bytes:
    subs = [(tag, list(entries)) for tag, entries in ((0x8769, exif), (0x8825, gps)) if entries]

    def main(pointers: list[int]) -> list[Entry]:
        return [*ifd0, *((tag, "long", [ptr]) for (tag, _), ptr in zip(subs, pointers, strict=True))]

    # Pointer entries have a fixed size, so IFD0's length does not depend on their values.
    offset = 8 + len(_ifd(main([0] * len(subs)), 8))
    pointers, blobs = [], []
    for _, entries in subs:
        pointers.append(offset)
        blobs.append(_ifd(entries, offset))
        offset += len(blobs[-1])
    return b"MM\x00*" + struct.pack(">I", 8) + _ifd(main(pointers), 8) + b"".join(blobs)


def _jpeg(tiff: bytes) -> bytes:
    app1 = b"Exif\x00\x00" + tiff
    return b"\xff\xd8\xff\xe1" + struct.pack(">H", len(app1) + 2) + app1 + b"\xff\xd9"


@pytest.fixture
def exif_of(tmp_path: Path):
    def read(ifd0: Sequence[Entry] = (), exif: Sequence[Entry] = (), gps: Sequence[Entry] = ()) -> Exif:
        path = tmp_path / "photo.jpg"
        path.write_bytes(_jpeg(_tiff(ifd0, exif, gps)))
        return read_exif(path)

    return read


def _dms(degrees: int, minutes: int, seconds_x100: int) -> list[tuple[int, int]]:
    return [(degrees, 1), (minutes, 1), (seconds_x100, 100)]


def test_reads_every_field(exif_of) -> None:
    exif = exif_of(
        ifd0=[
            (MAKE, "ascii", "Apple\x00\x00  "),
            (MODEL, "ascii", "iPhone 11 Pro Max"),
            (ORIENTATION, "short", [6]),
        ],
        exif=[
            (EXPOSURE, "rational", [(1, 250)]),
            (FNUMBER, "rational", [(9, 5)]),
            (ISO, "short", [32]),
            (DATETIME_ORIGINAL, "ascii", "2021:04:11 15:47:53"),
            (OFFSET_TIME_ORIGINAL, "ascii", "-05:00"),
            (FOCAL_LENGTH, "rational", [(425, 100)]),
            (LENS_MODEL, "ascii", "iPhone 11 Pro Max back triple camera 4.25mm f/1.8"),
        ],
        gps=[
            (LAT_REF, "ascii", "S"),
            (LAT, "rational", _dms(33, 51, 3000)),
            (LNG_REF, "ascii", "W"),
            (LNG, "rational", _dms(70, 30, 0)),
            (ALT_REF, "byte", [1]),
            (ALT, "rational", [(125, 10)]),
        ],
    )
    assert exif == Exif(
        camera_make="Apple",
        camera_model="iPhone 11 Pro Max",
        lens="iPhone 11 Pro Max back triple camera 4.25mm f/1.8",
        focal_length_mm=4.25,
        aperture=1.8,
        shutter_speed="1/250",
        exposure_time_s=0.004,
        iso=32,
        gps_lat=pytest.approx(-(33 + 51 / 60 + 30 / 3600)),
        gps_lng=-70.5,
        gps_alt=-12.5,
        orientation=6,
        taken_at="2021-04-11T15:47:53",
        taken_at_offset="-05:00",
    )


def test_to_dict_has_every_field() -> None:
    exif = Exif(camera_make="Canon", iso=100)
    assert exif.to_dict() == {name: getattr(exif, name) for name in FIELDS}
    assert list(exif.to_dict()) == FIELDS


@pytest.mark.parametrize(
    ("numerator", "denominator", "shutter"),
    [
        (2557545, 1000000000, "1/391"),  # 0.002557545 s, an iPhone exposure
        (1, 250, "1/250"),
        (10, 300, "1/30"),
        (1, 3, "1/3"),
        (2, 5, "0.4"),  # 1/2.5 is not "1/2"
        (4, 5, "0.8"),
        (1, 1, "1"),
        (5, 2, "2.5"),
        (30, 1, "30"),
    ],
)
def test_shutter_speed_is_human(exif_of, numerator: int, denominator: int, shutter: str) -> None:
    exif = exif_of(exif=[(EXPOSURE, "rational", [(numerator, denominator)])])
    assert exif.shutter_speed == shutter
    assert exif.exposure_time_s == pytest.approx(numerator / denominator)


@pytest.mark.parametrize(
    ("dates", "taken_at", "offset"),
    [
        # DateTimeOriginal wins, with its own offset.
        (
            {DATETIME_ORIGINAL: "2020:01:02 03:04:05", DATETIME_DIGITIZED: "2021:01:01 00:00:00"},
            "2020-01-02T03:04:05",
            "+01:00",
        ),
        # Placeholder dates fall through to the next source, and the offset follows the date.
        (
            {DATETIME_ORIGINAL: "0000:00:00 00:00:00", DATETIME_DIGITIZED: "2021:06:07 08:09:10"},
            "2021-06-07T08:09:10",
            "+02:00",
        ),
        (
            {DATETIME_ORIGINAL: "???????:08 09:55:10", DATETIME: "2018:04:08 09:55:10"},
            "2018-04-08T09:55:10",
            "+03:00",
        ),
        ({DATETIME_ORIGINAL: "    :  :     :  :  ", DATETIME: "2017:08:21 15:08:70"}, None, None),
        ({DATETIME_ORIGINAL: "2019:02:29 10:00:00"}, None, None),  # not a leap year
        ({DATETIME_ORIGINAL: "2008:05:30 15:56:01.54"}, "2008-05-30T15:56:01", "+01:00"),  # whole seconds
    ],
)
def test_taken_at_precedence(exif_of, dates: dict[int, str], taken_at: str | None, offset: str | None) -> None:
    offsets = [
        (OFFSET_TIME_ORIGINAL, "ascii", "+01:00"),
        (OFFSET_TIME_DIGITIZED, "ascii", "+02:00"),
        (OFFSET_TIME, "ascii", "+03:00"),
    ]
    # DateTime lives in IFD0; the other dates and all three offsets in the EXIF IFD.
    exif = exif_of(
        ifd0=[(tag, "ascii", text) for tag, text in dates.items() if tag == DATETIME],
        exif=[(tag, "ascii", text) for tag, text in dates.items() if tag != DATETIME] + offsets,
    )
    assert (exif.taken_at, exif.taken_at_offset) == (taken_at, offset)


@pytest.mark.parametrize("offset", ["+5:00", "Z", "+25:00", "0100", "+01:00:00", ""])
def test_malformed_offsets_are_dropped(exif_of, offset: str) -> None:
    exif = exif_of(exif=[(DATETIME_ORIGINAL, "ascii", "2020:01:02 03:04:05"), (OFFSET_TIME_ORIGINAL, "ascii", offset)])
    assert (exif.taken_at, exif.taken_at_offset) == ("2020-01-02T03:04:05", None)


def test_gps_time_is_the_last_resort_and_utc(exif_of) -> None:
    exif = exif_of(
        exif=[(DATETIME_ORIGINAL, "ascii", "0000:00:00 00:00:00")],
        gps=[(GPS_DATE, "ascii", "2008:10:23"), (GPS_TIME, "rational", [(14, 1), (27, 1), (724, 100)])],
    )
    assert (exif.taken_at, exif.taken_at_offset) == ("2008-10-23T14:27:07", "+00:00")


@pytest.mark.parametrize(
    ("gps", "expected"),
    [
        # Missing references: unsigned values are still the best answer...
        (
            [(LAT, "rational", _dms(43, 28, 0)), (LNG, "rational", _dms(11, 53, 0))],
            (43 + 28 / 60, 11 + 53 / 60),
        ),
        # ...but an all-zero block without references is a placeholder, not Null Island.
        ([(LAT, "rational", _dms(0, 0, 0)), (LNG, "rational", _dms(0, 0, 0))], (None, None)),
        # Null Island with references is a real (if unlikely) position.
        (
            [
                (LAT_REF, "ascii", "N"),
                (LAT, "rational", _dms(0, 0, 0)),
                (LNG_REF, "ascii", "E"),
                (LNG, "rational", _dms(0, 0, 0)),
            ],
            (0.0, 0.0),
        ),
        # 0/0 rationals, out-of-range values and half a position give nothing.
        (
            [(LAT, "rational", [(0, 0), (0, 0), (0, 0)]), (LNG, "rational", [(0, 0), (0, 0), (0, 0)])],
            (None, None),
        ),
        ([(LAT, "rational", [(4294967295, 1)]), (LNG, "rational", _dms(11, 0, 0))], (None, None)),
        ([(LAT_REF, "ascii", "N"), (LAT, "rational", _dms(43, 0, 0))], (None, None)),
        ([(LAT, "srational", [(-43, 1), (0, 1), (0, 1)]), (LNG, "rational", _dms(11, 0, 0))], (None, None)),
    ],
)
def test_gps_position(exif_of, gps: list[Entry], expected: tuple[float | None, float | None]) -> None:
    exif = exif_of(gps=gps)
    assert (exif.gps_lat, exif.gps_lng) == pytest.approx(expected)


@pytest.mark.parametrize(
    ("gps", "altitude"),
    [
        ([(ALT_REF, "byte", [0]), (ALT, "rational", [(2605606383, 10000000)])], 260.5606383),
        ([(ALT_REF, "byte", [1]), (ALT, "rational", [(12, 1)])], -12.0),
        ([(ALT, "rational", [(42123, 1000)])], 42.123),  # no ref: EXIF's default is above sea level
        ([(ALT_REF, "byte", [1]), (ALT, "rational", [(0, 0)])], None),
    ],
)
def test_gps_altitude(exif_of, gps: list[Entry], altitude: float | None) -> None:
    assert exif_of(gps=gps).gps_alt == pytest.approx(altitude)


@pytest.mark.parametrize(("value", "expected"), [(0, None), (1, 1), (8, 8), (9, None), (65535, None)])
def test_orientation_outside_1_to_8_is_none(exif_of, value: int, expected: int | None) -> None:
    assert exif_of(ifd0=[(ORIENTATION, "short", [value])]).orientation == expected


def test_zero_and_garbage_numbers_are_none(exif_of) -> None:
    exif = exif_of(
        ifd0=[(MAKE, "ascii", "\x00\x00\x00\x00\x00"), (MODEL, "ascii", "   ")],
        exif=[
            (EXPOSURE, "rational", [(0, 0)]),
            (FNUMBER, "rational", [(1, 0)]),
            (FOCAL_LENGTH, "rational", [(0, 1)]),
            (ISO, "short", [0]),
        ],
    )
    assert exif == Exif()


def test_aperture_falls_back_to_the_apex_value(exif_of) -> None:
    assert exif_of(exif=[(APERTURE_VALUE, "rational", [(5, 2)])]).aperture == pytest.approx(2**1.25)


@pytest.mark.parametrize(
    ("spec", "lens"),
    [
        ([(24, 1), (70, 1), (28, 10), (28, 10)], "24-70mm f/2.8"),
        ([(50, 1), (50, 1), (18, 10), (18, 10)], "50mm f/1.8"),
        ([(18, 1), (55, 1), (35, 10), (56, 10)], "18-55mm f/3.5-5.6"),
        ([(425, 100), (425, 100), (0, 0), (0, 0)], "4.2mm"),
        ([(0, 0), (0, 0), (0, 0), (0, 0)], None),
    ],
)
def test_lens_falls_back_to_the_lens_specification(exif_of, spec: list[tuple[int, int]], lens: str | None) -> None:
    assert exif_of(exif=[(LENS_SPECIFICATION, "rational", spec)]).lens == lens


def test_lens_model_beats_the_lens_specification(exif_of) -> None:
    exif = exif_of(
        exif=[(LENS_MODEL, "ascii", "EF24-70mm f/2.8L USM"), (LENS_SPECIFICATION, "rational", [(24, 1)] * 4)]
    )
    assert exif.lens == "EF24-70mm f/2.8L USM"


@pytest.mark.parametrize(
    "content",
    [
        b"",
        b"not an image at all\n" * 50,
        bytes(range(256)) * 64,
        b"\xff\xd8",  # JPEG start of image and nothing else
        b"\xff\xd8\xff\xe1\x00\x10Exif\x00\x00MM\x00*",  # truncated EXIF header
        b"\xff\xd8\xff\xe0\x00\x04\xff\xe1\xff\xff",  # segment lengths pointing nowhere
        b"MM\x00*\xff\xff\xff\xff",  # TIFF whose first IFD is far past the end
        b"II*\x00\x08\x00\x00\x00\xff\xff" + b"\x01" * 64,  # 65535 IFD entries, 5 present
        b"\x89PNG\r\n\x1a\n\x00\x00\x00\x00IEND\xaeB`\x82",
        b"\x89PNG\r\n\x1a\n\xff\xff\xff\xff\xf4\x95\x00\x00",  # chunk type that is not ASCII
        b"RIFF\x00\x00\x00\x00WEBPVP8X\x0a\x00\x00\x00\x08",
        b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic\x00\x00\x00\x10meta",
    ],
    ids=lambda content: content[:12].hex() or "empty",
)
def test_garbage_gives_an_empty_result(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "upload.bin"
    path.write_bytes(content)
    assert read_exif(path) == Exif()


def test_heif_brand_exifread_does_not_know_goes_through_libheif(tmp_path: Path) -> None:
    pillow_heif = pytest.importorskip("pillow_heif")
    from PIL import Image

    exif = Image.Exif()
    exif[MAKE], exif[ORIENTATION] = "Canon", 6
    path = tmp_path / "canon.hif"
    try:
        pillow_heif.from_pillow(Image.new("RGB", (64, 48))).save(path, exif=exif.tobytes(), quality=50)
    except Exception as error:  # no HEVC encoder in this build
        pytest.skip(f"cannot encode HEIF: {error}")
    data = path.read_bytes()
    assert data[4:12] == b"ftypheic"
    # Canon and Sony cameras write 'heix' (10-bit); exifread only accepts heic/avif/mif1 as major brand.
    path.write_bytes(data[:8] + b"heix" + data[12:])
    assert read_exif(path) == Exif(camera_make="Canon", orientation=6)


def test_runaway_heif_box_is_cut_short(tmp_path: Path) -> None:
    # A box of size 1 whose 64-bit size is 0 never advances: plain exifread loops on it forever.
    path = tmp_path / "loop.heic"
    path.write_bytes(b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic" + b"\x00\x00\x00\x01free" + bytes(8))
    started = time.perf_counter()
    assert read_exif(path) == Exif()
    assert time.perf_counter() - started < 1.0


def test_huge_string_length_does_not_load_the_file(tmp_path: Path) -> None:
    # A Model tag claiming ~4 GB of text, in a 50 MB file: exifread would read all of it.
    tiff = bytearray(_tiff([(MAKE, "ascii", "Canon"), (MODEL, "ascii", b"x" * 8)]))
    model_entry = tiff.index(struct.pack(">HH", MODEL, 2))
    tiff[model_entry + 4 : model_entry + 8] = struct.pack(">I", 0xFFFFFFF0)
    path = tmp_path / "huge.jpg"
    with path.open("wb") as out:
        out.write(_jpeg(bytes(tiff)))
        out.truncate(50 * 1024 * 1024)  # sparse: costs no disk
    tracemalloc.start()
    try:
        started = time.perf_counter()
        exif = read_exif(path)
        elapsed = time.perf_counter() - started
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert exif.camera_make == "Canon"
    assert peak < 16 * 1024 * 1024, f"peak {peak / 2**20:.1f} MiB"
    assert elapsed < 1.0


def test_huge_ifd_is_cut_short(tmp_path: Path) -> None:
    # 65535 entries of 999 rationals each, all pointing at the same data: a fuzzer favourite.
    entry = struct.pack(">HHII", 0x9999, 5, 999, 8)
    tiff = b"MM\x00*" + struct.pack(">I", 8) + struct.pack(">H", 0xFFFF) + entry * 0xFFFF + bytes(4)
    path = tmp_path / "entries.tif"
    path.write_bytes(tiff)
    started = time.perf_counter()
    assert read_exif(path) == Exif()
    # Plain exifread needs minutes (131 M reads); with the read budget ~0.5 s, nearly all of it
    # exifread walking the remaining entries. The bound leaves room for a slow CI machine.
    assert time.perf_counter() - started < 2.0


def test_exifread_warnings_stay_quiet(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    path = tmp_path / "plain.png"
    path.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\x00IEND\xaeB`\x82")
    with caplog.at_level(logging.DEBUG):
        read_exif(path)
    assert not [record for record in caplog.records if record.name.startswith("exifread")]
