# Runs unit test modules under the MicroPython unix port:
#   micropython tests/mpy_run.py test_tlv [test_atr ...]
# Prints one line per test and a closing "N passed, N failed"; exit status 1 on failure.
import sys

sys.path.insert(0, "tests/unit")
sys.path.insert(0, "firmware")

passed = failed = 0
for name in sys.argv[1:]:
    mod = __import__(name)
    for attr in sorted(dir(mod)):
        if not attr.startswith("test_"):
            continue
        try:
            getattr(mod, attr)()
            passed += 1
            print("PASS", name, attr)
        except Exception as e:
            failed += 1
            print("FAIL", name, attr)
            sys.print_exception(e)
print("%d passed, %d failed" % (passed, failed))
sys.exit(1 if failed else 0)
