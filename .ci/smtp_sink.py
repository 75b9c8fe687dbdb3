"""A local SMTP server for the production-mode check: accepts one login and any mail, and appends each
message to the file it is given. Just enough SMTP (EHLO, AUTH PLAIN/LOGIN, MAIL, RCPT, DATA, QUIT)."""

from __future__ import annotations

import socketserver
import sys
from pathlib import Path

OUT = Path(sys.argv[2])


class Session(socketserver.StreamRequestHandler):
    def reply(self, line: str) -> None:
        self.wfile.write(f"{line}\r\n".encode())

    def handle(self) -> None:
        self.reply("220 ci-smtp ready")
        while line := self.rfile.readline():
            command = line.decode(errors="replace").strip()
            verb = command.split(" ", 1)[0].upper()
            if verb == "EHLO":
                self.reply("250-ci-smtp")
                self.reply("250 AUTH PLAIN LOGIN")
            elif verb == "AUTH" and command.upper().startswith("AUTH LOGIN"):
                self.reply("334 VXNlcm5hbWU6")
                self.rfile.readline()
                self.reply("334 UGFzc3dvcmQ6")
                self.rfile.readline()
                self.reply("235 authenticated")
            elif verb == "AUTH":
                self.reply("235 authenticated")
            elif verb == "DATA":
                self.reply("354 end with <CRLF>.<CRLF>")
                lines = []
                while (body := self.rfile.readline()) not in (b".\r\n", b""):
                    lines.append(body.decode(errors="replace"))
                with OUT.open("a", encoding="utf-8") as out:
                    out.write("".join(lines) + "\n=== end of message ===\n")
                self.reply("250 queued")
            elif verb == "QUIT":
                self.reply("221 bye")
                return
            else:
                self.reply("250 ok")


socketserver.ThreadingTCPServer.allow_reuse_address = True
with socketserver.ThreadingTCPServer(("127.0.0.1", int(sys.argv[1])), Session) as server:
    server.serve_forever()
