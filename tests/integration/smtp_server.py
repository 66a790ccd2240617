"""smtp_server.py - an SMTP server on loopback that the mailer tests (mode
"mailer") start and stop themselves: Debian's aiosmtpd in a thread of the
test process, keeping every accepted message in memory.  On demand it
answers a recipient's next message with a given reply (a 4xx or 5xx), or
holds one message unanswered until the test lets it go, so a test can catch
a mailer in the middle of a send.

    server = SmtpServer()           # a free port; nothing listens yet
    server.url                      # smtp://127.0.0.1:PORT for the mailer
    server.start() ... server.stop()
"""
import asyncio
import collections
import re
import socket
import threading
import time

from aiosmtpd.controller import Controller

MESSAGE_ID = re.compile(rb"^Message-ID:[ \t]*(<[^>\r\n]*>)", re.IGNORECASE | re.MULTILINE)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Accepted:
    """One message the server answered 250: its envelope and bytes."""

    def __init__(self, mail_from, rcpt_tos, raw):
        self.mail_from = mail_from
        self.rcpt_tos = [r.lower() for r in rcpt_tos]
        self.raw = raw
        head = raw.split(b"\r\n\r\n", 1)[0]
        m = MESSAGE_ID.search(head)
        self.message_id = m.group(1).decode("ascii") if m else None


class _Handler:
    def __init__(self, server):
        self.server = server

    async def handle_DATA(self, smtp, session, envelope):
        s = self.server
        rcpts = [r.lower() for r in envelope.rcpt_tos]
        with s.lock:
            reply = None
            for r in rcpts:
                if s.replies[r]:
                    reply = s.replies[r].popleft()
                    break
            hold = reply is None and s.hold_when is not None and s.hold_when(rcpts)
            if hold:
                s.hold_when = None
        if hold:
            # Wait, without blocking the loop, until the test releases it.
            s.held.set()
            reply = await asyncio.get_running_loop().run_in_executor(None, s.wait_release)
        raw = envelope.original_content or envelope.content
        if callable(reply):
            reply = reply(raw)
        if reply is not None and not reply.startswith("250"):
            with s.lock:
                s.refused += 1
            return reply
        with s.lock:
            s.accepted.append(Accepted(envelope.mail_from, envelope.rcpt_tos, raw))
        return "250 2.0.0 OK"


class SmtpServer:
    def __init__(self, port=None):
        self.port = port or free_port()
        self.lock = threading.RLock()                     # hold_when may call messages()
        self.accepted = []                                 # [Accepted], in order
        self.refused = 0                                   # DATA answered 4xx/5xx
        self.replies = collections.defaultdict(collections.deque)  # rcpt -> replies
        self.hold_when = None                              # rcpts -> bool, once
        self.held = threading.Event()
        self._release = threading.Event()
        self._release_reply = None
        self._controller = None

    @property
    def url(self):
        return f"smtp://127.0.0.1:{self.port}"

    def start(self):
        assert self._controller is None, "already started"
        # server_hostname: the default asks DNS for our name.
        self._controller = Controller(_Handler(self), hostname="127.0.0.1", port=self.port,
                                      server_hostname="itest.localhost", ready_timeout=10)
        self._controller.start()
        return self

    def stop(self):
        """Stops listening and ends every connection; a held message is let go."""
        self.release("421 4.3.2 shutting down")
        if self._controller is not None:
            controller, self._controller = self._controller, None
            controller.stop()

    def reply_next(self, rcpt, *replies):
        """The next messages to rcpt are answered with replies, in turn,
        instead of being accepted ("451 4.3.0 ..." or "550 5.1.1 ...", or a
        function of the message's bytes that returns the reply)."""
        with self.lock:
            self.replies[rcpt.lower()].extend(replies)

    def hold_once(self, when):
        """The first message for whose recipients when(rcpts) is true gets no
        answer until release(); held is set when it arrives."""
        with self.lock:
            self.held.clear()
            self._release.clear()
            self.hold_when = when

    def wait_release(self):
        self._release.wait()
        return self._release_reply

    def release(self, reply="451 4.3.0 released"):
        self._release_reply = reply
        self._release.set()

    def messages(self, rcpts=None):
        """The accepted messages (to any of rcpts, when given)."""
        with self.lock:
            got = list(self.accepted)
        if rcpts is None:
            return got
        want = {r.lower() for r in rcpts}
        return [m for m in got if want.intersection(m.rcpt_tos)]

    def wait_for(self, predicate, timeout, what):
        """Polls predicate() every 20 ms until it is true, for at most timeout s."""
        deadline = time.monotonic() + timeout
        while not predicate():
            if time.monotonic() >= deadline:
                raise AssertionError(f"{what}: not after {timeout} s")
            time.sleep(0.02)
