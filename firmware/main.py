# Entry point on every board: build the board's objects, run the reader loop.
import gc

# Collect every 2 KB allocated, not only when the heap is full: while the modules load,
# the loader's temporary objects are freed at once and their holes refilled by the next
# module, so the code packs at the bottom of the heap; later, what a key or a transaction
# keeps goes into low holes instead of being strewn over the free space above (a small
# board had MemoryError mid-transaction with 9 KB free in pieces of at most 352 bytes).
# The idle loop allocates nothing, so this costs no collection while the reader waits.
gc.threshold(2048)
import board
from sesame.reader.loop import Reader

reader = Reader(board.make())
gc.collect()
reader.run()
