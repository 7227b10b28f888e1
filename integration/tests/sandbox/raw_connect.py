"""Connects to the socket without a word and prints, as hex, everything the sidecar sends
before it closes: for the sandbox test to decode a refusal itself (PROTOCOL §1, §6.6)."""

import os
import socket

sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
sock.settimeout(20)
sock.connect(os.environ["AX_SECRETS_SOCKET"])
data = b""
while True:
    try:
        chunk = sock.recv(65536)
    except ConnectionResetError:
        break
    if not chunk:
        break
    data += chunk
print(data.hex())
