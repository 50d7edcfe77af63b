"""The threads that hash passwords, and the priority they run at.

A password hash costs about a quarter of a second of CPU by design. Logins queue for
``PASSWORD_HASH_CONCURRENCY`` threads of their own (see ``deps.in_hashing_pool``), and on
Linux those threads run at a lower scheduling priority, ``PASSWORD_HASH_NICENESS``: while
the event loop has requests to answer, the kernel gives it the CPU first; while it has none,
the hashes run at full speed. The hashing libraries release the GIL while they hash, so the
loop never waits for a hashing thread.
"""

from __future__ import annotations

import logging
import os
import sys
import threading
from concurrent.futures import ThreadPoolExecutor

logger = logging.getLogger(__name__)

THREAD_NAME_PREFIX = "password-hashing"


def create_hashing_pool(concurrency: int, niceness: int) -> ThreadPoolExecutor:
    """``concurrency`` threads that start at ``niceness`` (0: the priority of the rest of the process)."""
    return ThreadPoolExecutor(
        max_workers=concurrency,
        thread_name_prefix=THREAD_NAME_PREFIX,
        initializer=lower_thread_priority,
        initargs=(niceness,),
    )


def lower_thread_priority(niceness: int) -> None:
    """Add ``niceness`` to the calling thread's nice value (Linux only: elsewhere it is per process).

    Raising a nice value needs no privilege, so this works in any container. If the kernel
    refuses all the same (a seccomp profile, say), the thread keeps its priority and says so
    in a WARNING as it starts: hashing still works, it only competes on equal terms.
    """
    if niceness == 0:
        return
    if not sys.platform.startswith("linux"):
        logger.debug("PASSWORD_HASH_NICENESS has no effect on %s: threads share the process's priority", sys.platform)
        return
    thread = threading.get_native_id()
    try:
        current = os.getpriority(os.PRIO_PROCESS, thread)
        os.setpriority(os.PRIO_PROCESS, thread, min(current + niceness, 19))
    except OSError as error:
        logger.warning("PASSWORD_HASH_NICENESS: the hashing thread keeps its priority (%s)", error.strerror or error)
