# Sésame reader firmware: pure layers (no `machine` import anywhere in this package).
VERSION = "0.1.0"
