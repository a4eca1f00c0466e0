"""A real POP3 client for the journeys: Python's poplib, STLS upgrade, USER/PASS, then RETR of every message.

Usage: pop3_fetch.py HOST PORT USER  (password on stdin). Prints one JSON object:
{"ok": true, "messages": [base64 of each message, CRLF line endings, dot-unstuffed]} or {"ok": false, "error": "..."}.
"""
import base64
import json
import poplib
import ssl
import sys


def main() -> None:
    host, port, user = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    password = sys.stdin.read()
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE  # the test stack uses its self-signed certificate
    client = poplib.POP3(host, port, timeout=20)
    try:
        client.stls(ctx)
        client.user(user)
        client.pass_(password)
        count, _size = client.stat()
        messages = []
        for i in range(1, count + 1):
            _resp, lines, _octets = client.retr(i)
            messages.append(base64.b64encode(b"\r\n".join(lines) + b"\r\n").decode("ascii"))
        client.quit()
        print(json.dumps({"ok": True, "messages": messages}))
    except poplib.error_proto as err:
        print(json.dumps({"ok": False, "error": err.args[0].decode("utf-8", "replace") if err.args and isinstance(err.args[0], bytes) else str(err)}))
        try:
            client.quit()
        except Exception:
            pass


if __name__ == "__main__":
    main()
