"""For the project's developers: benchmarks (`make bench`) and the wiring docs generated from the pin maps."""
