#!/bin/bash
# A short fuzz pass: damaged copies of real sessions through every command
# that reads them (tests/fuzz-session.py says what is damaged and what
# counts as a failure). A longer pass, on a sanitizer build:
#   tests/fuzz-session.py --seed N --count 2000 --siprof build-asan/src/siprof S1 S2
. "$(dirname "$0")/test-subr.sh"
need_ptrace
command -v python3 > /dev/null || skip "python3 is not installed (contrib/setup.sh installs it)"
start_classes
"$SIPROF" record -q -o "$tmpdir/a.siprof" -d 1.5 -p "$TARGET_PID" || fail "record failed"
"$SIPROF" record -q -o "$tmpdir/b.siprof" -d 1 -r 500 --threads 'spin*,locked,sleeper' -p "$TARGET_PID" ||
	fail "record failed"
kill -TERM "$TARGET_PID"
python3 "$top_srcdir/tests/fuzz-session.py" --seed "${FUZZ_SEED:-1}" --count "${FUZZ_COUNT:-40}" \
	--keep "$top_builddir/tests/fuzz-failed" --siprof "$SIPROF" "$tmpdir/a.siprof" "$tmpdir/b.siprof" ||
	fail "damaged sessions made siprof fail (mutants kept in tests/fuzz-failed)"
