"""Which listening sockets exist and which processes hold them, read from /proc: how the
server tests see the web launcher's sockets (a socket a worker slot, kept by granian's
main process) and plain granian's (a socket a worker)."""

from __future__ import annotations

from pathlib import Path


def listening_sockets(port: int) -> set[int]:
    """The inodes of the TCP sockets listening on `port` on this machine (IPv4)."""
    inodes = set()
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        local_port, state, inode = int(fields[1].rsplit(":", 1)[1], 16), fields[3], fields[9]
        if local_port == port and state == "0A":  # TCP_LISTEN
            inodes.add(int(inode))
    return inodes


def sockets_held(pid: int) -> set[int]:
    """The inodes of the sockets among a process's open files."""
    held = set()
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        try:
            target = fd.readlink().name
        except OSError:  # closed since listed
            continue
        if target.startswith("socket:["):
            held.add(int(target.removeprefix("socket:[").removesuffix("]")))
    return held
