# The simulated board's PC/SC channel (board.pcsc, sesame.ccid.frame's contract): a
# non-blocking TCP socket to the host's relay, which is a second pty there (`sesame sim
# --serve` prints it: `pcsc: /dev/pts/N`), bytes as they are. Or, with the setting
# "stdio", none: like an ESP32, a PC/SC mode on the test link's own serial (!pcsc on).
import socket
from micropython import const

_IPPROTO_TCP = const(6)
_TCP_NODELAY = const(1)


def attach(board, where):
    if where == "stdio":
        board.pcsc_on_stdio = True
        return
    host, port = where.split(":")
    s = socket.socket()
    s.connect(socket.getaddrinfo(host, int(port))[0][-1])
    s.setsockopt(_IPPROTO_TCP, _TCP_NODELAY, 1)
    s.setblocking(False)  # readinto: what has come, None when nothing
    board.pcsc = s
