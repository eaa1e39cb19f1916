# Test link: a line protocol on the USB serial, beside the REPL.
# Reader -> host, one event a line:   @ready <version> build=<test|production> board=<name>
#   @state <name>   @disp <text>   @off   @card in|out   @ok <cmd>   @refused <why>   @error <why>
# Host -> reader:  !key <KEY> (answered @ok key once handled)   !card in|out (simulated
#   board)   !ping   !status (re-sends @state and @disp)   !info (@info, the @ready text)
#   !trace on|off (test builds: @trace events, see trace.py; handled in reader.py)
# Key injection exists only in test builds. A PIN digit is never written by the reader.
KEYS = ("0", "1", "2", "3", "4", "5", "6", "7", "8", "9", "CODE", "RESPOND", "SIGN", "OK", "CLEAR")


class Link:
    # Parses host commands byte by byte and formats events.
    def __init__(self, write, test_build):
        self.write = write  # callable taking a str
        self.test_build = test_build
        self._buf = bytearray(40)
        self._n = 0

    def event(self, name, arg=None):
        self.write("@" + name + ("\n" if arg is None else " " + arg + "\n"))

    def feed(self, b):
        # One received byte; returns a parsed command (name, arg) at end of line, else None.
        if b in (10, 13):
            n = self._n
            self._n = 0
            if n <= 0 or self._buf[0] != 33:  # not "!": REPL noise, ignore
                return None
            line = bytes(self._buf[1:n]).decode()  # printable ASCII only: cannot fail
            sp = line.find(" ")
            return (line, "") if sp < 0 else (line[:sp], line[sp + 1:])
        n = self._n
        if n >= 0:
            if 32 <= b < 127 and n < len(self._buf):
                self._buf[n] = b
                self._n = n + 1
            else:  # binary, or longer than any command: not a command, ignore the line
                self._n = -1
        return None

    def check(self, cmd, arg, can_card=False):
        # Returns ("key", name) or ("card", inserted) for the reader to act on, or None
        # after answering the host itself.
        if cmd == "ping":
            self.event("ok", "ping")
        elif cmd in ("key", "card") and not self.test_build:
            self.event("refused", cmd + " injection needs a test build")
        elif cmd == "key":
            if arg in KEYS:
                return ("key", arg)
            self.event("error", "unknown key")
        elif cmd == "card":
            if not can_card:
                self.event("refused", "card control needs the simulated board")
            elif arg in ("in", "out"):
                return ("card", arg == "in")
            else:
                self.event("error", "card in|out")
        else:
            self.event("error", "unknown command")
        return None
