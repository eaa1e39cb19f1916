// The USB host side of the Pico's CDC serial: rp2040js's USBCDC (enumeration, the bulk IN
// data to the host), with the host's OUT transfers held until it has data.
//
// rp2040js answers every OUT buffer the device arms (USB DPRAM EPx_OUT_BUFFER_CONTROL
// AVAILABLE, RP2040 datasheet 4.1.2.5) at once with an empty packet, as a host never does:
// a real host NAKs the OUT token until it has data. TinyUSB re-arms on every empty packet,
// so an idle MicroPython spent most of its cycles in USB interrupts (the "idle storm").
// HeldCDC keeps each armed OUT buffer pending and completes it when bytes arrive. Bytes
// from the host wait in a queue of ours while the CDC's 512-byte FIFO is full.
import { USBCDC } from 'rp2040js';

export class HeldCDC extends USBCDC {
  constructor(usb) {
    super(usb);
    this.pendingReads = []; // sizes of OUT buffers armed by the device, not yet answered
    this.backlog = []; // host bytes beyond the FIFO
    this.outPackets = 0; // OUT packets completed (tests: no empty ones)
    this.emptyPackets = 0;
    usb.onEndpointRead = (endpoint, size) => {
      if (endpoint !== this.outEndpoint) {
        return;
      }
      this.pendingReads.push(size);
      this.complete();
    };
  }

  /** Host to device: queue bytes; they go out as the device arms OUT buffers. */
  sendSerialByte(data) {
    if (this.txFIFO.full) {
      this.backlog.push(data);
    } else {
      this.txFIFO.push(data);
    }
    this.complete();
  }

  sendSerialBytes(bytes) {
    for (const b of bytes) {
      if (this.txFIFO.full) {
        this.backlog.push(b);
      } else {
        this.txFIFO.push(b);
      }
    }
    this.complete();
  }

  get pending() {
    return this.txFIFO.itemCount + this.backlog.length;
  }

  complete() {
    while (this.pendingReads.length && !this.txFIFO.empty) {
      const size = this.pendingReads.shift();
      const buffer = new Uint8Array(Math.min(size, this.txFIFO.itemCount));
      for (let i = 0; i < buffer.length; i++) {
        buffer[i] = this.txFIFO.pull();
      }
      while (this.backlog.length && !this.txFIFO.full) {
        this.txFIFO.push(this.backlog.shift());
      }
      this.outPackets++;
      this.usb.endpointReadDone(this.outEndpoint, buffer);
    }
  }
}
