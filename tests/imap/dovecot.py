"""A throwaway Dovecot on 127.0.0.1: plain IMAP, one Maildir per user, stopped by process group."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path

from imapclient import IMAPClient

from tests.support.ports import free_port

PASSWORD = "secret"
USERS = 40

CONFIG = """\
protocols = imap
listen = 127.0.0.1
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
mail_location = maildir:~/Maildir
base_dir = {root}/run
state_dir = {root}/state
log_path = {root}/dovecot.log
info_log_path = {root}/dovecot.log
first_valid_uid = 1
service imap-login {{
  inet_listener imap {{
    address = 127.0.0.1
    port = {port}
  }}
  inet_listener imaps {{
    port = 0
  }}
}}
service anvil {{
  unix_listener anvil-auth-penalty {{
    mode = 0
  }}
}}
passdb {{
  driver = passwd-file
  args = scheme=PLAIN {root}/passwd
}}
userdb {{
  driver = static
  args = uid=nobody gid=nogroup home={root}/home/%u
}}
"""


class Dovecot:
    def __init__(self) -> None:
        # Not under pytest's tmp (mode 0700): the mail processes run as nobody.
        self.root = Path(tempfile.mkdtemp(prefix="gw-dovecot-"))
        self.root.chmod(0o755)
        (self.root / "home").mkdir(mode=0o777)
        (self.root / "home").chmod(0o777)
        self.port = free_port()
        self.config = self.root / "dovecot.conf"
        self.config.write_text(CONFIG.format(root=self.root, port=self.port))
        (self.root / "passwd").write_text(
            "".join(f"user{n}:{{PLAIN}}{PASSWORD}\n" for n in range(USERS)))
        self.process: subprocess.Popen[bytes] | None = None
        self._next_user = 0

    def start(self) -> None:
        self.process = subprocess.Popen(
            ["dovecot", "-F", "-c", str(self.config)], start_new_session=True,
            stdout=subprocess.DEVNULL, stderr=open(self.root / "stderr.log", "ab"))  # noqa: SIM115
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1) as sock:
                    if sock.recv(100).startswith(b"* OK"):
                        return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError(f"Dovecot did not start:\n{self.log()}")

    def stop(self) -> None:
        """Signal the whole group (the imap children keep serving otherwise) and wait."""
        if self.process is None:
            return
        group = self.process.pid
        for sig, grace in ((signal.SIGTERM, 5.0), (signal.SIGKILL, 5.0)):
            try:
                os.killpg(group, sig)
            except ProcessLookupError:
                break
            deadline = time.monotonic() + grace
            while time.monotonic() < deadline and _group_alive(group):
                self.process.poll()
                time.sleep(0.05)
            if not _group_alive(group):
                break
        self.process.wait(timeout=5)
        self.process = None

    def restart(self) -> None:
        self.stop()
        self.start()

    def remove(self) -> None:
        self.stop()
        shutil.rmtree(self.root, ignore_errors=True)

    def new_user(self) -> str:
        name = f"user{self._next_user}"
        self._next_user += 1
        assert self._next_user <= USERS, "raise USERS"
        return name

    def client(self, user: str) -> IMAPClient:
        client = IMAPClient("127.0.0.1", port=self.port, ssl=False, timeout=30)
        client.login(user, PASSWORD)
        return client

    def log(self) -> str:
        path = self.root / "dovecot.log"
        return path.read_text(errors="replace")[-4000:] if path.exists() else ""


def _group_alive(group: int) -> bool:
    """A live (not zombie) process in the group? Read /proc: killpg(0) also counts zombies."""
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[2]) == group and fields[0] != "Z":
            return True
    return False
