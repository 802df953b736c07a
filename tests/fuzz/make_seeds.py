#!/usr/bin/env python3
"""Writes the binary seed corpora of the fuzz targets into tests/fuzz/corpus/.

The ELF loader, file tree, GDB packet, hypercall and image archive inputs
are built here from their formats, which the comment at the top of each
fuzz_NAME.c describes. A change of format means changing this script and
running it again. The TOML seeds are plain text files kept by hand.
"""
import gzip
import io
import os
import struct
import sys
import tarfile

CORPUS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "corpus")


def write(target, name, data):
    path = os.path.join(CORPUS, target, name)
    with open(path, "wb") as out:
        out.write(data)


# ---------------------------------------------------------------- ELF files

PT_LOAD, PT_DYNAMIC, PT_NOTE, PT_TLS = 1, 2, 4, 7
ET_EXEC, ET_DYN = 2, 3
EM_X86_64, EM_AARCH64 = 62, 183
DT_NULL, DT_RELA, DT_RELASZ, DT_RELAENT = 0, 7, 8, 9
R_X86_64_RELATIVE = 8


def note(name, note_type, desc):
    name_bytes = name + b"\0"
    pad = lambda data: data + b"\0" * (-len(data) % 4)
    return (struct.pack("<III", len(name_bytes), len(desc), note_type) +
            pad(name_bytes) + pad(desc))


def hermit_notes(interface_version, hermit_version):
    notes = note(b"HERMIT", 0x5A00, bytes([4]))
    if interface_version is not None:
        notes += note(b"UHYVEIF", 0x5B00,
                      struct.pack(">I", interface_version))
    if hermit_version is not None:
        notes += note(b"GNU", 1, struct.pack("<4I", 6, *hermit_version))
    return notes


def elf(machine=EM_X86_64, relocatable=True, interface_version=2,
        hermit_version=(0, 10, 0), tls=True, relocations=2):
    """Returns a small kernel file: one PT_LOAD covering the whole file
    plus 8 KiB of bss, the Hermit notes, and for relocatable kernels a
    PT_DYNAMIC with RELATIVE relocations."""
    base = 0 if relocatable else 0x200000
    phnum = 5
    notes_offset = 0x200
    notes = hermit_notes(interface_version, hermit_version)
    rela_offset = 0x300
    targets_offset = rela_offset + 24 * relocations
    rela = b"".join(struct.pack("<QQq", targets_offset + 8 * i,
                                R_X86_64_RELATIVE, 0x100 + i)
                    for i in range(relocations))
    dynamic_offset = targets_offset + 8 * relocations
    dynamic = struct.pack("<8q", DT_RELA, base + rela_offset, DT_RELASZ,
                          len(rela), DT_RELAENT, 24, DT_NULL, 0)
    tls_offset = dynamic_offset + len(dynamic)
    code_offset = tls_offset + 16
    size = (code_offset + 0x100 + 0xFF) // 0x100 * 0x100
    image = bytearray(size)

    image[0:64] = (b"\x7fELF" + bytes([2, 1, 1, 0]) + b"\0" * 8 +
                   struct.pack("<HHIQQQIHHHHHH",
                               ET_DYN if relocatable else ET_EXEC, machine,
                               1, base + code_offset, 64, 0, 0, 64, 56,
                               phnum, 64, 0, 0))
    headers = [
        (PT_LOAD, 7, 0, base, base, size, size + 0x2000, 0x1000),
        (PT_NOTE, 4, notes_offset, base + notes_offset, base + notes_offset,
         len(notes), len(notes), 4),
        (PT_DYNAMIC if relocatable else 0, 6, dynamic_offset,
         base + dynamic_offset, base + dynamic_offset, len(dynamic),
         len(dynamic), 8),
        (PT_TLS if tls else 0, 4, tls_offset, base + tls_offset,
         base + tls_offset, 16, 32, 8),
        (0, 0, 0, 0, 0, 0, 0, 0),
    ]
    for i, header in enumerate(headers):
        image[64 + 56 * i:64 + 56 * (i + 1)] = struct.pack("<IIQQQQQQ",
                                                           *header)
    image[notes_offset:notes_offset + len(notes)] = notes
    image[rela_offset:rela_offset + len(rela)] = rela
    image[dynamic_offset:dynamic_offset + len(dynamic)] = dynamic
    # The entry point: "out %al, $0x80; hlt".
    image[code_offset:code_offset + 3] = b"\xe6\x80\xf4"
    return bytes(image)


def elf_seeds():
    write("elf_loader", "v2_relocatable", elf())
    write("elf_loader", "v1_fixed", elf(relocatable=False,
                                        interface_version=1,
                                        hermit_version=(0, 6, 9)))
    write("elf_loader", "v1_without_uhyveif_note",
          elf(interface_version=None, hermit_version=None, tls=False))
    write("elf_loader", "aarch64", elf(machine=EM_AARCH64))
    write("elf_loader", "many_relocations", elf(relocations=16))
    write("elf_loader", "truncated", elf()[:100])


# ------------------------------------------------------------- GDB packets


def packet(payload):
    checksum = sum(payload) % 256
    return b"$" + payload + b"#" + b"%02x" % checksum


def gdb_seeds():
    session = (b"+" + packet(b"qSupported:multiprocess+;swbreak+") + b"+" +
               packet(b"?") + packet(b"g") + packet(b"m401000,40") +
               packet(b"M401000,4:deadbeef") +
               packet(b"X401000,4:}\x03}]ab") + packet(b"Z0,401000,1") +
               packet(b"z1,401000,1") + packet(b"vCont;s:1;c") +
               packet(b"Hg2") + packet(b"qfThreadInfo") + b"\x03" +
               packet(b"P10=0010400000000000") + packet(b"k"))
    # One byte per piece, then the whole session at once.
    write("gdb_packet", "session_byte_by_byte", bytes([0]) + session)
    write("gdb_packet", "session_at_once", bytes([255]) + session)
    errors = (b"-" + b"$bad#00" + b"$m1000,#" + b"garbage" +
              packet(b"vCont;x") + b"$abc$" + packet(b"qC") +
              packet(b"Z9,1,1") + packet(b"}"))
    write("gdb_packet", "errors", bytes([7]) + errors)
    write("gdb_packet", "too_long", bytes([63]) + b"$" + b"}" * 0x4001 +
          b"#00")


# ---------------------------------------------------------- image archives

HERMIT_TOML = b"""version = "1"
kernel = "bin/kernel"

[input]
kernel_args = ["-v"]
app_args = ["a", "b"]
env_vars = ["KEY=value", "NOEQUALS"]

[requirements]
memory = "32MiB"
cpus = 1
"""


def tar(entries):
    """Returns a tar stream of (name, contents or a tarfile type) pairs."""
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w", format=tarfile.USTAR_FORMAT) \
            as archive:
        for name, contents in entries:
            info = tarfile.TarInfo(name)
            info.mtime = 0
            if isinstance(contents, bytes):
                info.size = len(contents)
                archive.addfile(info, io.BytesIO(contents))
            else:
                info.type = contents
                info.linkname = "hermit.toml"
                archive.addfile(info)
    # Drop the padding to a 10 KiB record, but keep the two zero blocks
    # that end the archive.
    data = out.getvalue().rstrip(b"\0")
    return data + b"\0" * (-len(data) % 512 + 1024)


def archive_seeds():
    kernel = elf()
    valid = tar([("hermit.toml", HERMIT_TOML), ("bin/", tarfile.DIRTYPE),
                 ("bin/kernel", kernel), ("data/in.txt", b"hello\n")])
    # Odd first byte: the rest is the archive file; even: a tar stream.
    write("image_archive", "valid_file",
          b"\x01" + gzip.compress(valid, mtime=0))
    write("image_archive", "valid_tar", b"\x00" + valid)
    write("image_archive", "too_demanding", b"\x00" + tar([
        ("hermit.toml", HERMIT_TOML.replace(b"32MiB", b"8GiB")
         .replace(b"cpus = 1", b"cpus = 64")),
        ("bin/kernel", kernel)]))
    write("image_archive", "symlink", b"\x00" + tar([
        ("hermit.toml", HERMIT_TOML), ("bin/kernel", kernel),
        ("link", tarfile.SYMTYPE)]))
    write("image_archive", "escaping_paths", b"\x00" + tar([
        ("hermit.toml", HERMIT_TOML), ("../../bin/kernel", kernel),
        ("/data/../../etc/passwd", b"x"), ("./bin//kernel", kernel)]))
    write("image_archive", "missing_kernel", b"\x00" + tar([
        ("hermit.toml", HERMIT_TOML)]))
    write("image_archive", "invalid_toml", b"\x00" + tar([
        ("hermit.toml", b"version = [\nkernel = 1\n"),
        ("bin/kernel", kernel)]))
    write("image_archive", "truncated_file",
          b"\x01" + gzip.compress(valid, mtime=0)[:300])


# ------------------------------------------------------------- hypercalls

V1 = dict(write=0x400, open=0x440, close=0x480, read=0x500, exit=0x540,
          lseek=0x580, cmdsize=0x740, cmdval=0x780, uart=0x800,
          unlink=0x840, serial_write=0x880)
V2 = dict(exit=0x1010, serial_write_byte=0x1020, serial_write=0x1030,
          serial_read=0x1050, write=0x1100, open=0x1110, close=0x1120,
          read=0x1130, lseek=0x1140, unlink=0x1150)

# The order of known_ports in fuzz_hypercall.c.
KNOWN_PORTS = [0x400, 0x440, 0x480, 0x500, 0x540, 0x580, 0x740, 0x780,
               0x800, 0x840, 0x880, 0x1010, 0x1020, 0x1030, 0x1040, 0x1050,
               0x1100, 0x1110, 0x1120, 0x1130, 0x1140, 0x1150, 0x1200,
               0x1210]
CALL_SLOTS = 8
MEMORY_SIZE = 64 * 1024
MEMORY_STARTS = [0, 0x40000000, 0x100000000 - MEMORY_SIZE, 0x100000000]

O_RDONLY, O_RDWR, O_CREAT, O_TRUNC = 0, 2, 0o100, 0o1000
# Guest memory of the seeds: page tables at 0x0-0x2fff, then the paths,
# the text buffer, the read buffer and the parameter blocks.
PML4, BUFFER, READ_BUFFER, FIRST_BLOCK = 0x0, 0x3200, 0x3300, 0x3400
PATHS = {"/data/in.txt": 0x3000, "/tmp/new.txt": 0x3040,
         "/etc/config.txt": 0x3080, "/proc/version": 0x30C0,
         "/data/../outside.txt": 0x3100, "/data/created.txt": 0x3140}


class Program:
    """A hypercall input: up to CALL_SLOTS calls and guest memory with
    identity page tables (for v1's guest-virtual buffers), the paths
    above and a text buffer."""

    def __init__(self, start_index=0):
        self.start = MEMORY_STARTS[start_index]
        self.start_index = start_index
        self.calls = []
        self.memory = bytearray(FIRST_BLOCK)
        self.next_block = FIRST_BLOCK
        # PML4[0] -> PDPT, PDPT[0] -> PD, PD[0] maps 2 MiB at 0.
        self.put(PML4, struct.pack("<Q", self.start + 0x1003))
        self.put(0x1000, struct.pack("<Q", self.start + 0x2003))
        self.put(0x2000, struct.pack("<Q", 0x83))
        for path, offset in PATHS.items():
            self.put(offset, path.encode() + b"\0")
        self.put(BUFFER, b"fuzzed hypercall output\n" * 8)

    def put(self, offset, data):
        if offset + len(data) > len(self.memory):
            self.memory.extend(b"\0" * (offset + len(data) -
                                        len(self.memory)))
        self.memory[offset:offset + len(data)] = data

    def gpa(self, offset):
        return self.start + offset

    def block(self, data):
        offset = self.next_block
        self.next_block += (len(data) + 15) // 16 * 16
        self.put(offset, data)
        return self.gpa(offset)

    def call(self, port, value=0, rdi=0, cr3=PML4, cpu_flags=0):
        index = KNOWN_PORTS.index(port) if port in KNOWN_PORTS else 0xFF
        self.calls.append(struct.pack("<BBHIQQ", index, cpu_flags, port,
                                      value & 0xFFFFFFFF, rdi,
                                      self.start + cr3))

    def v1(self, name, data):
        self.call(V1[name], value=self.block(data))

    def v2(self, name, data):
        self.call(V2[name], rdi=self.block(data))

    def encode(self):
        assert 1 <= len(self.calls) <= CALL_SLOTS
        slots = self.calls + [b"\0" * 24] * (CALL_SLOTS - len(self.calls))
        return (bytes([self.start_index, len(self.calls) - 1]) +
                b"".join(slots) + bytes(self.memory))


def v1_open(path, flags=O_RDONLY, mode=0):
    return struct.pack("<Qiii", PATHS[path], flags, mode, -38)


def v1_files():
    p = Program()
    p.v1("open", v1_open("/data/in.txt"))
    p.v1("read", struct.pack("<iQQq", 3, READ_BUFFER, 64, -38))
    p.v1("lseek", struct.pack("<iqi", 3, 2, 0))
    p.v1("read", struct.pack("<iQQq", 3, READ_BUFFER, 4, -38))
    p.v1("close", struct.pack("<ii", 3, -38))
    p.v1("exit", struct.pack("<i", 0))
    write("hypercall", "v1_read_mapped_file", p.encode())

    p = Program()
    p.v1("open", v1_open("/tmp/new.txt", O_CREAT | O_RDWR, 0o600))
    p.v1("write", struct.pack("<iQQ", 3, BUFFER, 48))
    p.v1("lseek", struct.pack("<iqi", 3, 0, 0))
    p.v1("read", struct.pack("<iQQq", 3, READ_BUFFER, 48, -38))
    p.v1("unlink", struct.pack("<Qi", PATHS["/tmp/new.txt"], -38))
    p.v1("close", struct.pack("<ii", 3, -38))
    write("hypercall", "v1_create_write_unlink", p.encode())

    p = Program()
    p.v1("write", struct.pack("<iQQ", 1, BUFFER, 24))
    p.v1("serial_write", struct.pack("<QQ", BUFFER, 24))
    p.call(V1["uart"], value=ord("x"))
    p.v1("open", v1_open("/data/../outside.txt", O_CREAT | O_RDWR, 0o600))
    p.v1("open", v1_open("/proc/version"))
    p.v1("read", struct.pack("<iQQq", 4, READ_BUFFER, 64, -38))
    p.v1("open", v1_open("/etc/config.txt", O_RDWR | O_TRUNC))
    write("hypercall", "v1_output_and_virtual_file", p.encode())

    p = Program()
    p.v1("cmdsize", b"\0" * 1032)
    argv, envp, strings = 0x3900, 0x3920, 0x3A20
    p.put(argv, struct.pack("<3Q", *(strings + 64 * i for i in range(3))))
    p.put(envp, struct.pack("<32Q", *(strings + 0xC0 + 32 * i
                                      for i in range(32))))
    p.next_block = strings + 0x4C0
    p.v1("cmdval", struct.pack("<QQ", argv, envp))
    write("hypercall", "v1_command_line", p.encode())


def v2_open(path, flags=O_RDONLY, mode=0):
    return v1_open(path, flags, mode)


def v2_files():
    p = Program(start_index=3)
    p.v2("open", v2_open("/data/in.txt"))
    p.v2("read", struct.pack("<QqQi", 64, -38, p.gpa(READ_BUFFER), 3))
    p.v2("lseek", struct.pack("<qIi", 1, 0, 3))
    p.v2("read", struct.pack("<QqQi", 8, -38, p.gpa(READ_BUFFER), 3))
    p.v2("close", struct.pack("<ii", 3, -38))
    p.call(V2["exit"], rdi=3)
    write("hypercall", "v2_read_mapped_file", p.encode())

    p = Program(start_index=3)
    p.v2("open", v2_open("/data/created.txt", O_CREAT | O_RDWR, 0o644))
    p.v2("write", struct.pack("<QqQi", 48, -38, p.gpa(BUFFER), 3))
    p.v2("lseek", struct.pack("<qIi", 0, 0, 3))
    p.v2("read", struct.pack("<QqQi", 48, -38, p.gpa(READ_BUFFER), 3))
    p.v2("unlink", struct.pack("<Qi", p.gpa(PATHS["/data/created.txt"]),
                               -38))
    p.v2("close", struct.pack("<ii", 3, -38))
    write("hypercall", "v2_create_write_unlink", p.encode())

    p = Program(start_index=3)
    p.v2("serial_write", struct.pack("<QQ", 24, p.gpa(BUFFER)))
    p.call(V2["serial_write_byte"], rdi=ord("y"))
    p.v2("serial_read", struct.pack("<QQQ", 16, 0, p.gpa(READ_BUFFER)))
    p.v2("write", struct.pack("<QqQi", 24, -38, p.gpa(BUFFER), 2))
    p.v2("read", struct.pack("<QqQi", 8, -38, p.gpa(READ_BUFFER), 0))
    p.call(V2["serial_write"], rdi=p.gpa(FIRST_BLOCK), cpu_flags=1)
    write("hypercall", "v2_output_and_input", p.encode())


def hostile():
    end = MEMORY_SIZE
    p = Program()
    p.v1("serial_write", struct.pack("<QQ", end - 8, 16))
    p.v1("write", struct.pack("<iQQ", 1, end - 16, 2**64 - 1))
    p.v1("read", struct.pack("<iQQq", 0, 0x7FFF0000, 4096, -38))
    p.v1("open", struct.pack("<Qiii", end - 4, 0, 0, -38))
    p.call(V1["exit"], value=end - 2)
    p.call(V1["cmdval"], value=0xFFFFFFF0)
    write("hypercall", "v1_out_of_range", p.encode())

    p = Program(start_index=2)
    p.v2("write", struct.pack("<QqQi", 32, -38, 0xFFFFFFF0, 1))
    p.v2("serial_write", struct.pack("<QQ", 2**64 - 16, p.gpa(BUFFER)))
    p.v2("lseek", struct.pack("<qIi", -5, 7, 3))
    p.v2("close", struct.pack("<ii", 0x7FFFFFFF, -38))
    p.call(0x1FF0, value=1)
    write("hypercall", "v2_out_of_range", p.encode())


# -------------------------------------------------------------- file tree

OPS = dict(host_file=0, host_directory=1, virtual=2, bytes=3, resolve=4,
           unlink=5, list=6, clean=7)


def ops(*steps):
    data = b""
    for op, path in steps:
        code = OPS[op.replace("empty_", "")] | (0x80 if "empty_" in op
                                                 else 0)
        encoded = path.encode("utf-8", "surrogateescape")
        data += bytes([code, len(encoded)]) + encoded
    return data


def filetree_seeds():
    write("filetree", "host_directory", ops(
        ("host_directory", "/data"), ("resolve", "/data/x/y"),
        ("unlink", "/data/x"), ("unlink", "/data"), ("resolve", "/data"),
        ("list", "")))
    write("filetree", "files_and_directories", ops(
        ("virtual", "/proc/version"), ("host_file", "/etc/a"),
        ("bytes", "/etc/b"), ("resolve", "/etc"), ("unlink", "/etc"),
        ("unlink", "/etc/a"), ("unlink", "/etc/b"), ("unlink", "/etc"),
        ("list", "")))
    write("filetree", "clean_paths", ops(
        ("clean", "../../etc/passwd"), ("clean", "/a//b/./../c/"),
        ("clean", "\udcff\udcfe"), ("clean", ".."), ("clean", ""),
        ("clean", "/./.././"), ("resolve", "a/../../b")))
    write("filetree", "conflicts", ops(
        ("host_file", "/a"), ("host_file", "/a/b"), ("host_directory", "/a"),
        ("host_directory", "/d"), ("host_file", "/d/e"),
        ("empty_host_file", "/f"), ("host_file", "/"), ("unlink", "/"),
        ("resolve", "/a/b/c"), ("list", "")))
    write("filetree", "long_path", ops(
        ("host_directory", "/" + "x" * 200), ("resolve", "/" + "x" * 254),
        ("clean", "/".join(["y"] * 127))))


def main():
    elf_seeds()
    v1_files()
    v2_files()
    hostile()
    filetree_seeds()
    gdb_seeds()
    archive_seeds()
    return 0


if __name__ == "__main__":
    sys.exit(main())
