"""mailers.py - cv-mailer processes that a test of mode "mailer" starts,
kills and stops itself ($CV_BIN_DIR/cv-mailer as the service user, with a
private configuration that points it at the test's own SMTP server).  In
that mode tools/test has stopped the stack's mailer, so the only mailers
are the tests' own.

    with Mailer(server.url, lease=6) as a:    # started; stopped at the end
        ...
        a.kill()                              # SIGKILL, as a crash

Each mailer logs to $CV_STATE_DIR/log/mailer-itest-NAME.log, where
tools/test looks for sanitizer reports as in every other log.
"""
import os
import re
import signal
import subprocess
import time

import stack

_started = []     # every Mailer that may still run, for stop_all()


def _config_text(smtp_url):
    """$CV_CONFIG with its delivery settings replaced by smtp_url."""
    keep = []
    with open(stack.env("CV_CONFIG"), encoding="utf-8") as f:
        for line in f:
            key = line.split("=", 1)[0].strip()
            if key not in ("smtp_url", "mail_dir", "smtp_username", "smtp_password"):
                keep.append(line.rstrip("\n"))
    keep.append(f"smtp_url = {smtp_url}")
    return "\n".join(keep) + "\n"


class Mailer:
    def __init__(self, smtp_url, name="a", lease=None):
        self.smtp_url = smtp_url
        self.name = name
        self.lease = lease
        self.proc = None
        self.log_path = os.path.join(stack.env("CV_STATE_DIR"), "log", f"mailer-itest-{name}.log")
        self.log_start = 0
        self._config = None

    def start(self):
        assert self.proc is None, "already started"
        path, remove = stack.private_config(_config_text(self.smtp_url))
        self._config = remove
        run_env = {"PATH": "/usr/bin:/bin", "CV_CONFIG": path}
        for name in ("ASAN_OPTIONS", "UBSAN_OPTIONS", "LSAN_OPTIONS"):
            if name in os.environ:
                run_env[name] = os.environ[name]
        args = [os.path.join(stack.env("CV_BIN_DIR"), "cv-mailer")]
        if self.lease is not None:
            args += ["--lease", str(self.lease)]
        user = stack.service_user()
        with open(self.log_path, "ab") as log:
            self.log_start = log.tell()
            # Not runuser: it stays the parent, and a SIGKILL must reach the
            # mailer itself.  Popen switches user and groups before exec.
            self.proc = subprocess.Popen(args, env=run_env, user=user, group=user, extra_groups=[],
                                         cwd=stack.env("CV_STATE_DIR"), stdin=subprocess.DEVNULL,
                                         stdout=log, stderr=log)
        _started.append(self)
        return self

    def log(self):
        """What this mailer has logged since it started."""
        with open(self.log_path, "rb") as f:
            f.seek(self.log_start)
            return f.read().decode("utf-8", "replace")

    def delivered(self):
        """The number of messages this mailer has recorded as sent."""
        return len(re.findall(r" outcome=sent status=sent", self.log()))

    def running(self):
        return self.proc is not None and self.proc.poll() is None

    def kill(self):
        """SIGKILL, like a crash: nothing is handed back."""
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(timeout=10)

    def stop(self):
        """SIGTERM (a clean stop must exit 0 within 10 s), else SIGKILL.
        Returns the exit status, None when it had already ended."""
        if self.proc is None:
            return None
        status = self.proc.poll()
        if status is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                status = self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)
                raise AssertionError(f"mailer {self.name} ignored SIGTERM for 10 s")
            assert status == 0, f"mailer {self.name} exited with {status} on SIGTERM:\n{self.log()[-2000:]}"
        if self in _started:
            _started.remove(self)
        if self._config is not None:
            self._config()
            self._config = None
        return status

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        if exc[0] is None:
            self.stop()
        else:
            try:
                self.stop()
            except AssertionError:
                pass    # the test's own failure is the one to report
        for marker in ("ERROR: AddressSanitizer", "ERROR: LeakSanitizer", "runtime error:"):
            assert marker not in self.log(), f"sanitizer report from mailer {self.name}:\n{self.log()}"


def wait_until(predicate, timeout, what, poll=0.02):
    """Polls predicate() until it returns something true, for at most
    timeout seconds; returns that value."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() >= deadline:
            raise AssertionError(f"{what}: still not so after {timeout} s")
        time.sleep(poll)
