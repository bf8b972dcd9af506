"""A time limit on chat template renders: the sandbox bounds ranges, not loops over them, so a template (a
downloaded tokenizer's, say) could render for hours."""

from __future__ import annotations

import atexit
import ctypes
import os
import signal
import threading
import time


class TimeUp(BaseException):
    """Raised in a render at its time limit; a BaseException, so no `except Exception` in a library swallows it."""


class RenderWatch:
    """Stops chat template renders that run past their deadline, in whichever thread they run (scans render in a
    prefetch thread below 20,000 pairs). While renders happen SIGALRM fires every second, and its handler, which
    Python runs in the main thread, raises `TimeUp` in each late render's thread: its own, or another through
    PyThreadState_SetAsyncExc. A render costs a dict entry; the handler disarms the timer once none runs.

    Only where SIGALRM is preflint's: `install` takes it from the main thread (`load_tokenizer` does) when nothing
    else handles it, since its default ends the process; a program using the API with its own handler keeps it,
    and renders without a limit."""

    def __init__(self):
        self.deadlines: dict[int, float] = {}  # thread id -> when its render is late
        self.sent: set[int] = set()  # threads sent a TimeUp, which may not have been raised yet
        self.ending = threading.Lock()  # held while a render ends, so no TimeUp is sent to it then
        self.armed = False
        if hasattr(os, "register_at_fork"):
            os.register_at_fork(after_in_child=self._forked)
        atexit.register(self._disarm)  # at exit Python gives SIGALRM back its default, which ends the process

    def _disarm(self) -> None:
        if self.armed:
            self.armed = False
            signal.setitimer(signal.ITIMER_REAL, 0)

    def _forked(self) -> None:  # a child has neither the parent's timer nor its other threads (nor their locks)
        self.deadlines.clear()
        self.sent.clear()
        self.ending = threading.Lock()
        self.armed = False

    def install(self) -> bool:
        if not hasattr(signal, "setitimer"):
            return False
        handler = signal.getsignal(signal.SIGALRM)
        if handler is signal.SIG_DFL and threading.current_thread() is threading.main_thread():
            signal.signal(signal.SIGALRM, handler := self._stop_late)
        return handler == self._stop_late

    def start(self, seconds: float) -> int | None:
        """Watch this thread's render; what `end` takes (None: no limit here)."""
        if not self.install():
            return None
        thread = threading.get_ident()
        self.deadlines[thread] = time.monotonic() + seconds
        if not self.armed:
            self.armed = True
            signal.setitimer(signal.ITIMER_REAL, 1.0, 1.0)
        return thread

    def end(self, thread: int | None) -> None:
        if thread is None:
            return
        with self.ending:
            self.deadlines.pop(thread, None)
            if thread in self.sent:  # a TimeUp sent to the render may still be pending: take it back
                self.sent.discard(thread)
                ctypes.pythonapi.PyThreadState_SetAsyncExc(ctypes.c_ulong(thread), None)

    def _stop_late(self, signum, frame) -> None:
        if not self.deadlines:
            self._disarm()
            if not self.deadlines:  # else a render started meanwhile, and saw the timer armed: arm it again
                return
            self.armed = True
            signal.setitimer(signal.ITIMER_REAL, 1.0, 1.0)
        if not self.ending.acquire(blocking=False):  # a render is ending, in this very thread maybe: next tick
            return
        try:
            now, main = time.monotonic(), threading.main_thread().ident
            late = [thread for thread, deadline in self.deadlines.items() if deadline <= now]
            for thread in late:
                if thread != main:
                    ctypes.pythonapi.PyThreadState_SetAsyncExc(ctypes.c_ulong(thread), ctypes.py_object(TimeUp))
                    self.sent.add(thread)
        finally:
            self.ending.release()
        if main in late:
            raise TimeUp


render_watch = RenderWatch()
