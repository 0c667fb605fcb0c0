#!/bin/bash
# The README's first command ends as a user expects: the demo program ends
# after SECONDS, or at SIGTERM or SIGINT, with status 0; and
# 'CI=true sh contrib/setup.sh --demo' with no terminal prints the demo's
# live view as text and exits 0, leaving no demo behind, and with
# siprof's own status when siprof fails. setup.sh runs in a tree of its
# own made for it, whose build is this one (already configured and built,
# so that it configures and builds nothing, and installs nothing). Then
# the README's quick start, its four lines as written, on the demo (attach
# in a terminal, through tmux, and q; record for 2 s rather than 30).
. "$(dirname "$0")/test-subr.sh"
DEMO=$top_builddir/contrib/demo/siprof-demo
[ -x "$DEMO" ] || fail "no $DEMO (make builds it)"

# SECONDS: the demo ends by itself (timeout is only a guard against a hang).
timeout 60 "$DEMO" 2 > "$tmpdir/demo.out"
rc=$?
[ $rc != 124 ] || fail "siprof-demo 2 was still running after 60 s"
[ $rc = 0 ] || fail "siprof-demo 2 exited with $rc, not 0"
grep -q '^siprof-demo: pid [0-9]*$' "$tmpdir/demo.out" || fail "siprof-demo printed: $(cat "$tmpdir/demo.out")"
echo "siprof-demo 2: exit 0"

# A signal ends it with 0 too (its threads shut down, none raises SIGPIPE).
for sig in TERM INT; do
	rm -f "$tmpdir/demo.out"
	"$DEMO" > "$tmpdir/demo.out" &
	demo=$!
	bg_pids="$bg_pids $demo"
	wait_file "$tmpdir/demo.out"
	kill -s "$sig" "$demo"
	wait "$demo"
	rc=$?
	[ $rc = 0 ] || fail "siprof-demo exited with $rc after SIG$sig, not 0"
	echo "siprof-demo, SIG$sig: exit 0"
done

# The tree for setup.sh: configure.ac and Makefile.am older than
# configure, a Makefile that has nothing to do, configured with the
# options setup.sh will ask for (CI=true: --enable-werror), and this
# build's siprof and demo.
tree=$tmpdir/tree
mkdir -p "$tree/contrib/demo" "$tree/src" "$tmpdir/bin"
cp "$top_srcdir/contrib/setup.sh" "$tree/contrib/"
: > "$tree/configure.ac"
: > "$tree/Makefile.am"
touch -d '1 hour ago' "$tree/configure.ac" "$tree/Makefile.am"
printf '#!/bin/sh\necho "configure was run: $*" >&2\nexit 1\n' > "$tree/configure"
chmod +x "$tree/configure"
printf 'all:\ncontrib/demo/siprof-demo:\n' > "$tree/Makefile"
printf '%s' --enable-werror > "$tree/.setup-configure"
ln -s "$DEMO" "$tree/contrib/demo/siprof-demo"
ln -s "$SIPROF" "$tree/src/siprof"
# A Debian package missing: setup.sh would install it; a test does not.
printf '#!/bin/sh\necho "apt-get $*" >> "%s"\nexit 1\n' "$tmpdir/apt-get.log" > "$tmpdir/bin/apt-get"
chmod +x "$tmpdir/bin/apt-get"

# setup_demo: run 'CI=true sh contrib/setup.sh --demo' in the tree, with
# no terminal; rc is its status.
setup_demo() {
	(cd "$tree" && env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL PATH="$tmpdir/bin:$PATH" CI=true timeout 120 sh contrib/setup.sh --demo) \
		< /dev/null > "$tmpdir/setup.out" 2>&1
	rc=$?
	[ ! -s "$tmpdir/apt-get.log" ] ||
		skip "setup.sh wants Debian packages installed ($(head -n 1 "$tmpdir/apt-get.log")); sh contrib/setup.sh --check installs them"
	grep -q 'these Debian packages are missing' "$tmpdir/setup.out" &&
		skip "Debian packages are missing: $(head -n 1 "$tmpdir/setup.out")"
	[ $rc != 124 ] || fail "setup.sh --demo was still running after 120 s: $(cat "$tmpdir/setup.out")"
	! grep -q 'configure was run' "$tmpdir/setup.out" || fail "setup.sh configured again: $(cat "$tmpdir/setup.out")"
	demo=$(sed -n 's/^setup: siprof attach --batch --iterations=3 \([0-9]*\) .*/\1/p' "$tmpdir/setup.out")
	[ -n "$demo" ] || fail "setup.sh --demo did not say which process it attaches to: $(cat "$tmpdir/setup.out")"
	# Its exit trap ends the demo, and waits for it.
	! kill -0 "$demo" 2> /dev/null || fail "the demo ($demo) still runs after setup.sh --demo"
}

need_ptrace
setup_demo
[ $rc = 0 ] || fail "CI=true sh contrib/setup.sh --demo exited with $rc, not 0: $(cat "$tmpdir/setup.out")"
grep -q 'crc_block (siprof-demo.c:[0-9]*)' "$tmpdir/setup.out" ||
	fail "setup.sh --demo showed no frame of the demo's checksum thread: $(cat "$tmpdir/setup.out")"
echo "setup.sh --demo: exit 0, the demo's live view as text, no demo left"

# A siprof that fails: setup.sh exits with its status, not the demo's.
rm "$tree/src/siprof"
printf '#!/bin/sh\necho "siprof: failing on purpose" >&2\nexit 3\n' > "$tree/src/siprof"
chmod +x "$tree/src/siprof"
setup_demo
[ $rc = 3 ] || fail "with a siprof that exits 3, setup.sh --demo exited with $rc: $(cat "$tmpdir/setup.out")"
echo "setup.sh --demo with a failing siprof: its status, 3"

# The README's quick start.
awk '/^## Quick start/ {on = 1} on && /^```sh$/ {code = 1; next} code && /^```$/ {exit} code' \
	"$top_srcdir/README.md" | sed 's/  *# .*//' > "$tmpdir/quick"
[ "$(grep -c '^siprof ' "$tmpdir/quick")" = 4 ] || fail "the README's quick start is not four siprof lines: $(cat "$tmpdir/quick")"
"$DEMO" > "$tmpdir/demo.out" &
demo=$!
bg_pids="$bg_pids $demo"
wait_file "$tmpdir/demo.out"
mkdir "$tmpdir/quick-cwd"
mkdir -p "$tmpdir/bin"
ln -sf "$SIPROF" "$tmpdir/bin/siprof"
n=0
while read -r line; do
	n=$((n + 1))
	line=${line//PID/$demo}
	line=${line//--duration=30/--duration=2}
	case $line in
	"siprof attach "*)
		if ! command -v tmux > /dev/null; then
			skip_check tmux "the quick start's attach, in a terminal"
			continue
		fi
		tmux_init quick
		tm new-session -d -s quick -x 160 -y 40 \
			"cd '$tmpdir/quick-cwd' && PATH='$tmpdir/bin':\$PATH $line; echo \"exit \$?\"; sleep 600"
		wait_screen 'crc_block' "README line $n: $line"
		keys q
		wait_screen '^exit 0$' "README line $n, after q: $line"
		;;
	*)
		(cd "$tmpdir/quick-cwd" && PATH="$tmpdir/bin:$PATH" eval "$line") > "$tmpdir/quick.out" 2>&1 ||
			fail "README line $n failed: $line: $(cat "$tmpdir/quick.out")"
		;;
	esac
	case $line in
	"siprof report "*)
		grep -q 'crc_block' "$tmpdir/quick.out" || fail "README line $n: no crc_block in: $(cat "$tmpdir/quick.out")"
		;;
	esac
done < "$tmpdir/quick"
svg=$(ls "$tmpdir"/quick-cwd/*.svg)
if command -v python3 > /dev/null; then
	python3 -c 'import sys, xml.dom.minidom as m; d = m.parse(sys.argv[1]); assert d.documentElement.tagName == "svg"' "$svg" ||
		fail "the README's flame graph $svg is not SVG"
else
	skip_check python3 "parsing the quick start's flame graph"
fi
grep -q crc_block "$svg" || fail "the README's flame graph has no crc_block"
assert_running "$demo"
echo "the README's quick start: attach, record, report and export on the demo"
