// HeldCDC (usb.js): OUT buffers the device arms wait for host data (no empty packets).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { HeldCDC } from '../usb.js';

function fakeUSB() {
  return { done: [], endpointReadDone(ep, buf) { this.done.push([ep, [...buf]]); }, resetDevice() {}, sendSetupPacket() {} };
}

test('an armed OUT buffer is answered only when the host has bytes', () => {
  const usb = fakeUSB();
  const cdc = new HeldCDC(usb);
  cdc.outEndpoint = 2;
  usb.onEndpointRead(2, 64); // the device arms EP2 OUT (rp2040js would answer it at once)
  usb.onEndpointRead(2, 64);
  assert.deepEqual(usb.done, [], 'no empty packet');
  cdc.sendSerialBytes([0x61, 0x62]);
  assert.deepEqual(usb.done, [[2, [0x61, 0x62]]]);
  cdc.sendSerialBytes([0x63]);
  assert.deepEqual(usb.done[1], [2, [0x63]], 'the second armed buffer');
  cdc.sendSerialBytes([0x64]);
  assert.equal(usb.done.length, 2, 'nothing armed: the byte waits');
  usb.onEndpointRead(2, 64);
  assert.deepEqual(usb.done[2], [2, [0x64]]);
});

test('bytes beyond the 512-byte FIFO wait in order; packets hold at most the armed size', () => {
  const usb = fakeUSB();
  const cdc = new HeldCDC(usb);
  cdc.outEndpoint = 2;
  const data = Array.from({ length: 1000 }, (_, i) => i & 0xff);
  cdc.sendSerialBytes(data);
  assert.equal(cdc.pending, 1000);
  const got = [];
  while (got.length < 1000) {
    usb.onEndpointRead(2, 64);
    const [, buf] = usb.done.shift();
    assert.ok(buf.length <= 64);
    got.push(...buf);
  }
  assert.deepEqual(got, data);
});
