# The PC/SC channel on boards with runtime USB (RP2040): a second USB CDC serial beside the
# REPL's, from micropython-lib's usb-device-cdc (boards/pico/package.json). The REPL, mpremote,
# `sesame flash` and the test link stay on the built-in CDC (/dev/ttyACM0, where Ctrl-C
# still works); pcscd's serial CCID driver opens this one (/dev/ttyACM1), where 0x03 is
# only the frame's SYNC. The board enumerates again once, when the second interface is
# added at boot (usb.device.get().init(..., builtin_driver=True)).
#
# Contract (sesame.ccid.frame): readinto(buf) -> n or 0, write(buf) -> n; never blocks (the
# reader loop asks every pass, and nothing is allocated when nothing came: poll first).
import select


class CdcChannel:
    # Fields: cdc (the CDCInterface), poll (ipoll reuses its result tuple).
    def __init__(self):
        import usb.device
        from usb.device.cdc import CDCInterface

        self.cdc = CDCInterface(timeout=0)  # reads and writes return what they could at once
        usb.device.get().init(self.cdc, builtin_driver=True)
        self.poll = select.poll()
        self.poll.register(self.cdc, select.POLLIN)

    def readinto(self, buf):
        for _ in self.poll.ipoll(0):
            return self.cdc.readinto(buf) or 0
        return 0

    def write(self, buf):
        return self.cdc.write(buf) or 0
