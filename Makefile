# Sésame reader. `make demo` and `make test` set everything up on a fresh machine.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

# The reader as a PC/SC reader (tests/pcsc): Debian's pcscd, its serial CCID driver, the
# clients, and what pyscard (PyPI, no Linux wheel) builds with. Installed when root;
# otherwise the command is printed and those tests skip.
PCSC_DEBS := pcscd libccid pcsc-tools opensc swig libpcsclite-dev

.PHONY: demo test venv clean help fuzz bench pcsc-deps

help:
	@echo "make demo   run the reader on the simulated board with a virtual card (interactive)"
	@echo "make test   set up, then run every test (CPython, MicroPython unix port, serial HIL)"
	@echo "make venv   only set up $(VENV)"
	@echo "make fuzz   long property-based runs: link layer (100 000+ cases) and CAP engine"
	@echo "make bench  wire figures (T=0/T=1, with and without PPS) and smallest heap"

venv: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	@$(MAKE) --no-print-directory pcsc-deps
	@if command -v swig >/dev/null && [ -e /usr/include/PCSC/winscard.h ]; then extras=test,pcsc; \
	else extras=test; echo "pyscard left out (it builds with swig and libpcsclite-dev): the PC/SC tests will skip"; fi; \
	echo "$(BIN)/python -m pip install --quiet -e '.[$$extras]'"; \
	$(BIN)/python -m pip install --quiet -e ".[$$extras]"
	# MicroPython stubs for the board type-check, one folder per port (same module names)
	$(BIN)/python -m pip install --quiet --upgrade --target $(VENV)/stubs/rp2 'micropython-rp2-rpi-pico-stubs>=1.24'
	$(BIN)/python -m pip install --quiet --upgrade --target $(VENV)/stubs/esp32 'micropython-esp32-stubs>=1.24'
	touch $(STAMP)

pcsc-deps:
	@if dpkg-query -W -f='$${Status}\n' $(PCSC_DEBS) 2>/dev/null | grep -vq 'install ok installed' \
	    || [ "$$(dpkg-query -W -f='$${Status}\n' $(PCSC_DEBS) 2>/dev/null | wc -l)" -ne 6 ]; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    export DEBIAN_FRONTEND=noninteractive; \
	    apt-get install -y -q $(PCSC_DEBS) >/dev/null || { apt-get update -q >/dev/null && \
	      apt-get install -y -q $(PCSC_DEBS) >/dev/null; }; \
	  else echo "PC/SC tests need: sudo apt-get install $(PCSC_DEBS)"; fi; \
	fi

demo: $(STAMP)
	$(BIN)/sesame sim

test: $(STAMP)
	$(BIN)/python -m pytest -q

fuzz: $(STAMP)  # long property runs: 6 link-layer properties and the CAP engine, 17 000 cases each
	SESAME_FUZZ_EXAMPLES=17000 $(BIN)/python -m pytest -q -s -p no:cacheprovider tests/host/test_fuzz_linklayer.py tests/host/test_fuzz_cap.py

bench: $(STAMP)  # prints figures; `--quick` (wire only) runs in make test
	$(BIN)/python -m sesame_tools.devtools.bench

clean:
	rm -rf $(VENV) .state .pytest_cache
