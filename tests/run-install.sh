#!/bin/bash
# What a packager checks: make install (staged with DESTDIR) puts siprof,
# its two man pages and the bash completion where configure said, and
# nothing else; the installed siprof runs and says its version; make
# uninstall takes it all away again. And the tarball's tree (make distdir,
# what make dist packs) holds every file git tracks under src/, tests/,
# man/ and contrib/, so that a build from the tarball has them all.
. "$(dirname "$0")/test-subr.sh"
command -v make > /dev/null || skip "make is not installed"
# This make, not the harness's: its flags and job server are not ours.
mk() { env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL make -s -C "$top_builddir" "$@"; }

# Where configure put things, as the Makefile expands them.
printf 'print-dirs:\n\t@echo $(bindir) $(mandir) $(bashcompdir)\n' > "$tmpdir/print.mk"
read -r bindir mandir bashcompdir < <(mk -f Makefile -f "$tmpdir/print.mk" print-dirs) ||
	fail "cannot read the installation directories from the Makefile"
echo "bindir $bindir, mandir $mandir, bash completion $bashcompdir"
[ -n "$bashcompdir" ] || fail "the Makefile has no bashcompdir"

stage=$tmpdir/stage
mk install DESTDIR="$stage" > "$tmpdir/install.out" 2>&1 ||
	fail "make install failed: $(tail -20 "$tmpdir/install.out")"
(cd "$stage" && find . -type f | sed 's|^\.||' | sort) > "$tmpdir/installed"
printf '%s\n' "$bindir/siprof" "$mandir/man1/siprof.1" "$mandir/man5/siprof-session.5" \
	"$bashcompdir/siprof" | sort > "$tmpdir/want"
diff -u "$tmpdir/want" "$tmpdir/installed" || fail "make install installed other files than these (above)"

version=$(sed -n 's/^#define PACKAGE_VERSION "\(.*\)"$/\1/p' "$top_builddir/config.h")
[ "$("$stage$bindir/siprof" --version)" = "siprof $version" ] ||
	fail "the installed siprof says '$("$stage$bindir/siprof" --version)', not 'siprof $version'"
cmp "$top_srcdir/man/siprof.1" "$stage$mandir/man1/siprof.1" || fail "the installed siprof.1 is not man/siprof.1"
cmp "$top_srcdir/contrib/siprof.bash-completion" "$stage$bashcompdir/siprof" ||
	fail "the installed completion is not contrib/siprof.bash-completion"
if command -v man > /dev/null; then
	MANWIDTH=80 man -l "$stage$mandir/man1/siprof.1" 2> /dev/null | grep -q 'siprof record' ||
		fail "man cannot render the installed siprof.1"
else
	skip_check man "rendering the installed page"
fi
# bash-completion loads completions/NAME when NAME is first completed: the
# file must define siprof's completion when sourced.
bash -c '. "$1" && complete -p siprof' _ "$stage$bashcompdir/siprof" > "$tmpdir/complete" 2>&1 ||
	fail "sourcing the installed completion failed: $(cat "$tmpdir/complete")"
grep -q -- '-F _siprof siprof$' "$tmpdir/complete" || fail "the installed completion does not complete siprof: $(cat "$tmpdir/complete")"

mk uninstall DESTDIR="$stage" > "$tmpdir/uninstall.out" 2>&1 ||
	fail "make uninstall failed: $(tail -20 "$tmpdir/uninstall.out")"
left=$(find "$stage" -type f)
[ -z "$left" ] || fail "make uninstall left: $left"
echo "make install and uninstall: $(wc -l < "$tmpdir/want") files"

# The tarball's tree against git's list, when this is a git checkout
# built in place or beside it (not the tarball's own build, which has no git).
if command -v git > /dev/null &&
	[ "$(git -C "$top_srcdir" rev-parse --show-toplevel 2> /dev/null)" = "$(cd "$top_srcdir" && pwd -P)" ]; then
	mk distdir distdir="$tmpdir/dist" > "$tmpdir/dist.out" 2>&1 ||
		fail "make distdir failed: $(tail -20 "$tmpdir/dist.out")"
	git -C "$top_srcdir" ls-files src tests man contrib | sort > "$tmpdir/tracked"
	(cd "$tmpdir/dist" && find . -type f | sed 's|^\./||' | sort) > "$tmpdir/dist.list"
	missing=$(comm -23 "$tmpdir/tracked" "$tmpdir/dist.list")
	[ -z "$missing" ] || fail "make dist leaves out these tracked files (add them to EXTRA_DIST): $missing"
	echo "make dist: all $(wc -l < "$tmpdir/tracked") tracked files under src/ tests/ man/ contrib/"
else
	echo "not a git checkout: the tarball's contents are not compared with git's list"
fi
