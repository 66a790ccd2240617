#!/usr/bin/python3
"""run.py - the integration test runner (tools/test calls it).

    /usr/bin/python3 tests/integration/run.py [--mode smtp|dir|mailer|apache|faults] [-k SUBSTRING] [--list]

Finds the modules tests/integration/test_*.py and their functions test_*, and
runs, one after the other, those meant for the mode: a test (function
attribute) or module (module attribute) says MODE = "dir", "smtp", "mailer",
"apache" (tools/test has Apaches in front, CV_APACHE_*_URL) or a tuple of them; without one it runs in smtp mode only, because the dir
run happens after tools/test switched the mailer to writing .eml files, and
the mailer run after it stopped the mailer so that tests run their own.
"faults" comes last (with the mailer stopped): its tests kill the database
and responders.  -k
keeps the tests whose "module.function" name contains SUBSTRING.

Prints "ok   NAME" or "FAIL NAME: REASON" plus the traceback per test and the
last lines each log of the stack got during that test ("     log NAME: ..."),
and as its last line "N passed, M failed".  A test that raises (anything, including
the 120 s time limit) failed; nothing is skipped.  Exit status 1 when a test
failed, 2 when nothing was selected, else 0.

Needs the environment tools/test sets: CV_BASE_URL, CV_PG_DSN, CV_MAILDIR,
CV_MAIL_DIR, CV_CONFIG, CV_BIN_DIR, CV_STATE_DIR (see stack.py).
"""
import argparse
import glob
import importlib.util
import inspect
import os
import signal
import sys
import time
import traceback

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import stack  # noqa: E402

TEST_TIME_LIMIT = 120


class TestTimeout(Exception):
    pass


def on_alarm(signum, frame):
    raise TestTimeout(f"test still running after {TEST_TIME_LIMIT} s")


def modes_of(obj, default):
    mode = getattr(obj, "MODE", default)
    return {mode} if isinstance(mode, str) else set(mode)


def discover():
    """[(name, function, modes)] in file order, and [(module file, error)]."""
    tests, broken = [], []
    for path in sorted(glob.glob(os.path.join(HERE, "test_*.py"))):
        modname = os.path.splitext(os.path.basename(path))[0]
        try:
            spec = importlib.util.spec_from_file_location(modname, path)
            module = importlib.util.module_from_spec(spec)
            sys.modules[modname] = module
            spec.loader.exec_module(module)
        except Exception:
            broken.append((modname, traceback.format_exc()))
            continue
        module_modes = modes_of(module, "smtp")
        funcs = [f for n, f in vars(module).items()
                 if n.startswith("test_") and inspect.isfunction(f) and f.__module__ == modname]
        funcs.sort(key=lambda f: f.__code__.co_firstlineno)
        for f in funcs:
            modes = modes_of(f, None) if hasattr(f, "MODE") else module_modes
            tests.append((f"{modname}.{f.__name__}", f, modes))
    return tests, broken


LOG_LINES = 12   # per log, of what it got during a failed test


def log_sizes():
    """{path: size} of the stack's logs (CV_STATE_DIR/log/*.log)."""
    sizes = {}
    for path in glob.glob(os.path.join(os.environ.get("CV_STATE_DIR", "/nonexistent"), "log", "*.log")):
        try:
            sizes[path] = os.path.getsize(path)
        except OSError:
            pass
    return sizes


def logs_since(before):
    """The last lines each log got since `before`, as "     log NAME: line"
    lines: what the processes a failed test involved said meanwhile."""
    out = []
    for path, size in sorted(log_sizes().items()):
        start = before.get(path, 0)
        if size <= start:
            continue
        with open(path, "rb") as f:
            f.seek(start)
            lines = f.read().decode("utf-8", "replace").splitlines()
        name = os.path.basename(path)
        if len(lines) > LOG_LINES:
            out.append(f"     log {name}: ... {len(lines) - LOG_LINES} earlier lines")
        out += [f"     log {name}: {line}" for line in lines[-LOG_LINES:]]
    return out


def first_line(exc):
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0]}" if text else type(exc).__name__


def main():
    parser = argparse.ArgumentParser(description="contact-verify integration tests")
    parser.add_argument("--mode", choices=("smtp", "dir", "mailer", "apache", "faults"),
                        default=os.environ.get("CV_MAILER_MODE") or "smtp",
                        help="how the running mailer delivers, or mailer: none runs"
                             " (default: $CV_MAILER_MODE or smtp)")
    parser.add_argument("-k", dest="keyword", default="", help="run tests whose name contains this")
    parser.add_argument("--list", action="store_true", help="print the selected tests and exit")
    args = parser.parse_args()
    stack.MODE = args.mode

    tests, broken = discover()
    names = [n for n, _, _ in tests]
    duplicates = {n.split(".")[1] for n in names
                  if sum(1 for m in names if m.split(".")[1] == n.split(".")[1]) > 1}
    selected = [(n, f) for n, f, modes in tests if args.mode in modes and args.keyword in n]
    if args.list:
        for n, _ in selected:
            print(n)
        return 0

    passed = failed = 0
    for modname, tb in broken:
        failed += 1
        print(f"FAIL {modname}: the module does not import", flush=True)
        print(tb.rstrip(), flush=True)
    for name in sorted(duplicates):
        failed += 1
        print(f"FAIL {name}: two modules define a test of this name", flush=True)
    if not selected and not broken:
        print(f"run.py: no test selected (mode {args.mode}, -k {args.keyword!r})", flush=True)
        print(f"{passed} passed, {failed} failed", flush=True)
        return 2

    stack.auth_limit(stack.SUITE_AUTH_FAILURES)
    signal.signal(signal.SIGALRM, on_alarm)
    start = time.monotonic()
    for name, func in selected:
        t = time.monotonic()
        logs_before = log_sizes()
        signal.alarm(TEST_TIME_LIMIT)
        try:
            func()
            error = None
        except BaseException as e:          # noqa: B902 - a test fails on anything
            if isinstance(e, KeyboardInterrupt):
                raise
            error = e
            # The traceback from the test function down (not run.py's frame).
            tb = "".join(traceback.format_exception(type(e), e, e.__traceback__.tb_next))
        finally:
            signal.alarm(0)
        took = time.monotonic() - t
        if error is None:
            passed += 1
            print(f"ok   {name}" + (f"  ({took:.1f} s)" if took >= 2 else ""), flush=True)
            try:
                stack.cleanup()
            except Exception as e:
                print(f"     (cleanup after {name} failed: {first_line(e)})", flush=True)
        else:
            failed += 1
            stack.forget_created()
            print(f"FAIL {name}: {first_line(error)}", flush=True)
            print("     " + tb.rstrip().replace("\n", "\n     "), flush=True)
            for line in logs_since(logs_before):
                print(line, flush=True)
    print(f"integration ({args.mode}): {len(selected)} tests in {time.monotonic() - start:.1f} s",
          flush=True)
    print(f"{passed} passed, {failed} failed", flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
