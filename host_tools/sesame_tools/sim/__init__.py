"""The simulated board: the firmware on MicroPython's unix port behind a pty, its card a virtual card; the terminal demo."""
