"""Just enough ELF reading to verify shared objects: machine, and the glibc versions needed.

A wheel built on the build machine links against its newer glibc; on Lambda the import
then fails with `GLIBC_2.xx not found`. The needed versions are in the .gnu.version_r
section (SHT_GNU_verneed), whose names live in the string table it links to.
"""

from __future__ import annotations

import re
import struct
from dataclasses import dataclass
from pathlib import Path

ELF_MAGIC = b"\x7fELF"
SHT_GNU_VERNEED = 0x6FFFFFFE
MACHINE_NAMES = {
    3: "x86 (32-bit)",
    62: "x86_64",
    183: "aarch64",
    40: "arm (32-bit)",
    8: "mips",
    20: "ppc",
    21: "ppc64",
}
_GLIBC = re.compile(rb"^GLIBC_(\d+)\.(\d+)")


class NotElf(Exception):
    pass


class BadElf(Exception):
    """The file starts like ELF but its headers do not hold together (truncated, garbage)."""

    def __init__(self, path: Path, reason: str) -> None:
        super().__init__(f"{path}: {reason}")
        self.path = path
        self.reason = reason


@dataclass(frozen=True)
class ElfInfo:
    machine: int
    needed_glibc: tuple[int, int] | None  # the newest GLIBC_x.y symbol version referenced

    @property
    def machine_name(self) -> str:
        return MACHINE_NAMES.get(self.machine, f"machine {self.machine}")


def is_elf(path: Path) -> bool:
    with path.open("rb") as handle:
        return handle.read(4) == ELF_MAGIC


def read_elf(path: Path) -> ElfInfo:
    """Machine and newest GLIBC version of an ELF file; BadElf when it cannot be read."""
    data = path.read_bytes()
    if data[:4] != ELF_MAGIC:
        raise NotElf(str(path))
    if len(data) < 0x34:
        raise BadElf(path, f"truncated: {len(data)} bytes, shorter than an ELF header")
    if data[4] not in (1, 2) or data[5] not in (1, 2):
        raise BadElf(path, "its header names no known ELF class and byte order")
    try:
        return _parse(data)
    except struct.error:  # a table that runs past the end: a truncated copy
        raise BadElf(path, f"truncated: its headers point past the end of the file ({len(data)} bytes)") from None
    except (IndexError, ValueError):  # a link to a missing section, an unterminated name
        raise BadElf(path, "its section headers are inconsistent") from None


def _parse(data: bytes) -> ElfInfo:
    is64 = data[4] == 2
    endian = "<" if data[5] == 1 else ">"
    machine = struct.unpack_from(endian + "H", data, 18)[0]
    if is64:
        (shoff,) = struct.unpack_from(endian + "Q", data, 0x28)
        shentsize, shnum = struct.unpack_from(endian + "HH", data, 0x3A)
        section = struct.Struct(endian + "IIQQQQIIQQ")
    else:
        (shoff,) = struct.unpack_from(endian + "I", data, 0x20)
        shentsize, shnum = struct.unpack_from(endian + "HH", data, 0x2E)
        section = struct.Struct(endian + "IIIIIIIIII")
    sections = [section.unpack_from(data, shoff + index * shentsize) for index in range(shnum)]
    newest: tuple[int, int] | None = None
    for _, sh_type, _, _, offset, _, link, info, _, _ in sections:
        if sh_type != SHT_GNU_VERNEED:
            continue
        strtab_offset = sections[link][4]
        entry = offset
        for _ in range(info):  # sh_info = number of Verneed entries
            _, count, _, aux, following = struct.unpack_from(endian + "HHIII", data, entry)
            aux_entry = entry + aux
            for _ in range(count):
                _, _, _, name, aux_next = struct.unpack_from(endian + "IHHII", data, aux_entry)
                end = data.index(b"\0", strtab_offset + name)
                match = _GLIBC.match(data[strtab_offset + name : end])
                if match:
                    version = (int(match.group(1)), int(match.group(2)))
                    newest = max(newest, version) if newest else version
                aux_entry += aux_next
            if not following:
                break
            entry += following
    return ElfInfo(machine, newest)
