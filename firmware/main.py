# Entry point on every board: build the board's objects, run the reader loop.
import board
from sesame.reader import Reader

Reader(board.make()).run()
