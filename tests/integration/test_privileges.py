"""Privileges (SPEC 9): responders, their supervisors and the mailer never
run as root, and neither program starts as root or with a secrets file that
every user may read (the responders' refusals are in test_cgi.py)."""
import os
import subprocess

from stack import config, env, private_config, responders, service_user


def processes_of(binary):
    """[(pid, uid)] of the processes whose argv names binary."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/cmdline", "rb") as f:
                args = f.read().split(b"\0")
            uid = os.stat(f"/proc/{entry}").st_uid
        except OSError:
            continue
        if binary.encode() in args:
            found.append((int(entry), uid))
    return found


def test_responders_and_their_supervisors_do_not_run_as_root():
    for name in responders():
        procs = processes_of(os.path.join(env("CV_BIN_DIR"), name))
        assert len(procs) >= 2, f"{name}: a supervisor and its responders, got {procs}"
        assert all(uid != 0 for _, uid in procs), f"{name} runs as root: {procs}"


def test_stack_mailer_does_not_run_as_root():
    procs = processes_of(os.path.join(env("CV_BIN_DIR"), "cv-mailer"))
    assert procs and all(uid != 0 for _, uid in procs), procs


def run_mailer(config_path, as_root=False):
    cmd = ["env", "-i", "PATH=/usr/bin:/bin", f"CV_CONFIG={config_path}"]
    cmd += [f"{k}={os.environ[k]}" for k in ("ASAN_OPTIONS", "UBSAN_OPTIONS") if k in os.environ]
    cmd.append(os.path.join(env("CV_BIN_DIR"), "cv-mailer"))
    if not as_root:
        cmd = ["runuser", "-u", service_user(), "--"] + cmd
    return subprocess.run(cmd, capture_output=True, timeout=15, cwd=env("CV_STATE_DIR"))


def test_mailer_refuses_to_run_as_root():
    p = run_mailer(env("CV_CONFIG"), as_root=True)
    assert p.returncode != 0, p
    assert b"root" in p.stderr, p.stderr


def test_mailer_refuses_world_readable_config():
    path, remove = private_config("".join(f"{k} = {v}\n" for k, v in config().items()))
    try:
        os.chmod(path, 0o644)
        p = run_mailer(path)
        assert p.returncode != 0, p
        assert b"readable by all" in p.stderr, p.stderr
    finally:
        remove()


test_mailer_refuses_to_run_as_root.MODE = "mailer"
test_mailer_refuses_world_readable_config.MODE = "mailer"
