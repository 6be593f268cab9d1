"""Exceptions raised by ``anomaly``.

The tree::

    DetectorError                      base of every error this package raises
    ├── InvalidParameterError               a detector parameter outside its declared range
    ├── ArtifactError                  a fleet-model artifact cannot be used
    │   ├── ArtifactMismatchError           saved for another version or feature schema
    │   └── ArtifactCorruptError            unreadable, or holds types that are not trusted
    └── InputError                     a CLI input file cannot be read as documented
"""

from __future__ import annotations

from pathlib import Path

__all__ = [
    "ArtifactCorruptError",
    "ArtifactError",
    "ArtifactMismatchError",
    "DetectorError",
    "InputError",
    "InvalidParameterError",
]


class DetectorError(Exception):
    """Base of every error raised by ``anomaly``."""


class InvalidParameterError(DetectorError, ValueError):
    """A detector parameter is outside its declared range.

    Attributes:
        detector: the detector class name.
        name: the parameter.
        value: the offending value.
    """

    def __init__(self, detector: str, name: str, value: object, rule: str) -> None:
        super().__init__(f"{detector}: parameter {name}={value!r} must be {rule}")
        self.detector = detector
        self.name = name
        self.value = value


class ArtifactError(DetectorError):
    """A fleet-model artifact cannot be used.

    Attributes:
        path: the artifact file.
    """

    def __init__(self, path: Path, message: str) -> None:
        super().__init__(f"{path}: {message}")
        self.path = path


class ArtifactMismatchError(ArtifactError):
    """The artifact was saved for another format version or feature schema.

    Attributes:
        expected: what this code needs.
        found: what the artifact carries.
    """

    def __init__(self, path: Path, what: str, expected: str, found: str) -> None:
        super().__init__(
            path, f"{what} mismatch: this code needs {expected!r}, the artifact has {found!r}"
        )
        self.expected = expected
        self.found = found


class ArtifactCorruptError(ArtifactError):
    """The artifact is unreadable or holds types that are not on the trusted list."""


class InputError(DetectorError):
    """An input file does not have the documented shape.

    Attributes:
        path: the file.
        line: the 1-based line, when known.
    """

    def __init__(self, path: str, line: int | None, message: str) -> None:
        where = f"{path}:{line}" if line is not None else path
        super().__init__(f"{where}: {message}")
        self.path = path
        self.line = line
