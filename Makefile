# Sésame reader. `make demo` and `make test` set everything up on a fresh machine.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: demo test venv clean help fuzz bench emu-test

help:
	@echo "make demo   run the reader on the simulated board with a virtual card (interactive)"
	@echo "make test   set up, then run every test (CPython, MicroPython unix port, serial HIL)"
	@echo "make venv   only set up $(VENV)"
	@echo "make fuzz   long runs: property tests (hypothesis), the seeded fuzzer under CPython and"
	@echo "            MicroPython (10 000 cases a target), every bad input to every command"
	@echo "make emu-test  every emulated-Pico test (card timing and link-layer matrices too)"
	@echo "make bench  wire figures (T=0/T=1, with and without PPS) and smallest heap"

venv: $(STAMP)

# Debian packages: pcsc-tools (its smartcard_list.txt names cards in `sesame atr`, and the
# whole-list test checks `sesame atr` against pyscard), and what pyscard's build needs;
# pcscd, libccid (its serial driver libccidtwin.so) and opensc for the reader as a PC/SC
# reader (tests/pcsc, against a private pcscd); Node.js and npm for the emulated Pico
# (rp2040js, host_tools/sesame_tools/emu/js). Installed with apt-get when run as root;
# otherwise the command is printed.
DEBS := pcsc-tools swig gcc libpcsclite-dev pcscd libccid opensc nodejs

$(STAMP): pyproject.toml host_tools/sesame_tools/emu/js/package-lock.json
	@missing=""; for p in $(DEBS); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	command -v npm >/dev/null || missing="$$missing npm"; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    echo "apt-get install$$missing"; apt-get update -qq && \
	    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq$$missing >/dev/null; \
	  else \
	    echo "For card names in sesame atr, its pyscard test, the PC/SC tests and the emulated Pico, run: sudo apt-get install -y$$missing"; \
	  fi; \
	fi
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]' || { \
	  echo "pyscard could not be built (above): the rest without it; its test is skipped"; \
	  $(BIN)/python -m pip install --quiet -e '.[test-base]'; }
	# MicroPython stubs for the board type-check, one folder per port (same module names)
	$(BIN)/python -m pip install --quiet --upgrade --target $(VENV)/stubs/rp2 'micropython-rp2-rpi-pico-stubs>=1.24'
	$(BIN)/python -m pip install --quiet --upgrade --target $(VENV)/stubs/esp32 'micropython-esp32-stubs>=1.24'
	# the emulated Pico (rp2040js, pinned in its package-lock.json)
	if command -v npm >/dev/null; then npm ci --prefix host_tools/sesame_tools/emu/js --silent --no-audit --no-fund; \
	else echo "the emulated Pico needs Node.js and npm: sudo apt-get install -y nodejs npm"; fi
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/sesame sim

test: $(STAMP)
	$(BIN)/python -m pytest -q

fuzz: $(STAMP)  # long runs; each prints its counts (the fuzzer's seed changes every run)
	SESAME_FUZZ_EXAMPLES=17000 $(BIN)/python -m pytest -q -s -p no:cacheprovider tests/host/test_fuzz_linklayer.py tests/host/test_fuzz_cap.py
	SESAME_FUZZ_CASES=10000 SESAME_FUZZ_SEED=$$(date +%s) $(BIN)/python -m pytest -q -s -p no:cacheprovider \
	  tests/unit/test_fuzz.py "tests/test_micropython.py::test_unit_module_under_micropython[test_fuzz]"
	$(BIN)/python -m sesame_tools.devtools.badinputs

emu-test: $(STAMP)  # the emulated Pico: its fixes, flash -> code, the timing/link matrices
	$(BIN)/python -m pytest -q tests/emu

bench: $(STAMP)  # prints figures; `--quick` (wire only) runs in make test
	$(BIN)/python -m sesame_tools.devtools.bench

clean:
	rm -rf $(VENV) .state .pytest_cache
