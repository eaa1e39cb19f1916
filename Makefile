# Sésame reader. `make demo` and `make test` set everything up on a fresh machine.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: demo test unit-mpy venv clean help

help:
	@echo "make demo   run the reader on the simulated board with a virtual card (interactive)"
	@echo "make test   set up, then run every test (CPython, MicroPython unix port, serial HIL)"
	@echo "make venv   only set up $(VENV)"

venv: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/sesame sim

test: $(STAMP)
	$(BIN)/python -m pytest -q

clean:
	rm -rf $(VENV) .state .pytest_cache
