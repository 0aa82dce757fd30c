"""Shared by the Python integration tests: one "ok"/"FAIL" line per check,
the failures counted, and a free loopback port for a peer the test starts.

    sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
    from checks import check, free_port, summary
"""
import socket

failures = 0


def check(cond, what):
    """Print the check's line; count it when it failed. Returns cond."""
    global failures
    print(("ok   " if cond else "FAIL ") + what, flush=True)
    if not cond:
        failures += 1
    return cond


def summary(name=""):
    """The closing line; the exit code (1 when any check failed)."""
    print(f"{name + ': ' if name else ''}{failures} failure(s)")
    return 1 if failures else 0


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]
