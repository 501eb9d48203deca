"""Opening a path without following a symbolic link, shared by the zookeeper role's modules.

The data and log directories belong to the service account, which can put a link (to
/etc/shadow, say) or a FIFO where root reads or writes: every module that touches a path there
opens it with O_NOFOLLOW and O_NONBLOCK and checks what it got through the descriptor.

It runs on the hosts' Python, 3.6 and later: standard library only, no
``from __future__ import annotations``; ``make lint`` checks the floor with vermin.
"""

import errno
import os
import stat

# (Built in two steps: vermin takes `A | B` at module level for a 3.10 union type.)
NO_FOLLOW = os.O_NOFOLLOW
NO_FOLLOW |= os.O_NONBLOCK


class NotAFile(OSError):
    """The path is a symbolic link, or not of the kind asked for (`link` says which)."""

    def __init__(self, path: str, link: bool) -> None:
        super().__init__(errno.ELOOP if link else errno.EINVAL,
                         "a symbolic link" if link else "not of the expected type", path)
        self.link = link


def open_no_follow(path: str, flags: int = os.O_RDONLY, kind=stat.S_ISREG) -> int:
    """A descriptor of `path` if it is of `kind` (stat.S_ISREG, stat.S_ISDIR), never through
    a link and never blocking on a FIFO; NotAFile otherwise, FileNotFoundError when there is
    nothing."""
    try:
        fd = os.open(path, flags | NO_FOLLOW)
    except OSError as err:
        if err.errno in (errno.ELOOP, errno.ENOTDIR):
            raise NotAFile(path, link=True) from err
        raise
    if not kind(os.fstat(fd).st_mode):
        os.close(fd)
        raise NotAFile(path, link=False)
    return fd
