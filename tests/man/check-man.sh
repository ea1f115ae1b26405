#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# check-man.sh: the man pages in man/ render without a single warning
# (man --warnings, groff's UTF-8 output), lexgrog finds their NAME lines,
# and they document what the code really has, read from the sources:
#   glockd.conf.5  every key of daemon/config.c's key table
#   glockctl.8     every subcommand daemon/glockctl.c's main() dispatches
#   glockd.8       every option of daemon/main.c's getopt string
#   libglock.3     every function daemon/lib/glock.h declares
#   glockfs.5      every module parameter, mount option and debugfs file of kmod/
#   glockctl.8     (also) every series `glockctl metrics` writes
# so adding a key, subcommand, option or parameter without its man page
# fails here.  Exit 77 (skip) only when man or lexgrog is not installed.
set -u
srcdir=${srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}
man_dir=$srcdir/man
pass=0
fail=0
ok()  { pass=$((pass + 1)); echo "ok   - $*"; }
bad() { fail=$((fail + 1)); echo "FAIL - $*"; }

command -v man >/dev/null && command -v lexgrog >/dev/null ||
	{ echo "SKIP: man or lexgrog not installed (deploy/install-deps)"; exit 77; }

pages=(glockd.8 glockctl.8 glockd.conf.5 glockfs.5 libglock.3)
for p in "${pages[@]}"; do
	f=$man_dir/$p
	if [ ! -f "$f" ]; then
		bad "$p: missing"
		continue
	fi
	warn=$(LC_ALL=C.UTF-8 MANROFFSEQ='' MANWIDTH=80 \
		man --warnings -E UTF-8 -l -Tutf8 -Z "$f" 2>&1 >/dev/null)
	rc=$?
	if [ $rc -eq 0 ] && [ -z "$warn" ]; then
		ok "$p renders without warnings"
	else
		bad "$p: man status $rc: $(printf '%s' "$warn" | head -n 5 | tr '\n' '|')"
	fi
	if out=$(lexgrog "$f" 2>&1) && [[ $out == *" - "* ]]; then
		ok "$p: lexgrog finds its NAME ($(head -n 1 <<< "$out"))"
	else
		bad "$p: lexgrog: $out"
	fi
done

# documented PAGE REGEX WHAT: PAGE has a line matching REGEX.
documented() {
	if grep -Eq -- "$2" "$man_dir/$1"; then
		ok "$1 documents $3"
	else
		bad "$1 does not document $3 (no line /$2/)"
	fi
}

# glockd.conf keys: the table entries { "key", K_..., bool }.
keys=$(sed -n 's/^[[:space:]]*{ "\([a-z_0-9]*\)", K_[A-Z_]*, \(true\|false\) },.*/\1/p' \
	"$srcdir/daemon/config.c")
[ -n "$keys" ] || bad "no keys found in daemon/config.c (has the table changed shape?)"
for k in $keys; do
	documented glockd.conf.5 "^\.BI $k \" = \"" "key $k"
done

# glockctl subcommands: !strcmp(cmd, "NAME") in main(), help aliases aside.
cmds=$(grep -o 'strcmp(cmd, "[a-z][a-z-]*")' "$srcdir/daemon/glockctl.c" |
	sed 's/.*"\(.*\)")/\1/' | sort -u)
[ -n "$cmds" ] || bad "no subcommands found in daemon/glockctl.c"
for c in $cmds; do
	documented glockctl.8 "^\.B glockctl $c( |$)" "subcommand $c in SYNOPSIS"
	documented glockctl.8 "^\.B[IR]? $c( |$)" "subcommand $c under COMMANDS"
done

# glockd options: the getopt string in main.c.
opts=$(sed -n 's/.*getopt(argc, argv, "\([^"]*\)").*/\1/p' "$srcdir/daemon/main.c" | tr -d ':')
[ -n "$opts" ] || bad "no getopt string found in daemon/main.c"
for ((i = 0; i < ${#opts}; i++)); do
	o=${opts:i:1}
	documented glockd.8 "^\.B(I)? \\\\-$o( |$)" "option -$o"
done

# libglock: every function declared in glock.h, in NAME and SYNOPSIS.
fns=$(grep -oE '^[a-z].*[ *](glock_[a-z_]+)\(' "$srcdir/daemon/lib/glock.h" |
	sed -E 's/.*[ *](glock_[a-z_]+)\($/\1/' | sort -u)
[ -n "$fns" ] || bad "no functions found in daemon/lib/glock.h"
for fn in $fns; do
	documented libglock.3 "(^|[ ,])$fn(,|$)" "$fn in NAME"
	documented libglock.3 "\"[^\"]*[ *]$fn\(" "$fn in SYNOPSIS"
done

# glockfs: module parameters, mount options, debugfs files.
params=$(sed -n 's/^module_param(\([a-z_0-9]*\),.*/\1/p' "$srcdir"/kmod/*.c)
[ -n "$params" ] || bad "no module parameters found in kmod/"
for m in $params; do
	documented glockfs.5 "^\.BR $m \"" "module parameter $m"
done
mopts=$(grep -ohE '\{ *OPT_[A-Z_]+, *"[a-z_]+(=%[sdu])?" *\}' "$srcdir/kmod/super.c" |
	sed -E 's/.*"([a-z_]+)(=%[sdu])?".*/\1/')
[ -n "$mopts" ] || bad "no mount options found in kmod/super.c"
for m in $mopts; do
	documented glockfs.5 "^\.BI? $m=" "mount option $m"
done
files=$(grep -ohE 'debugfs_create_file\("[a-z_]+"' "$srcdir"/kmod/*.c | sed -E 's/.*"(.*)"/\1/')
[ -n "$files" ] || bad "no debugfs files found in kmod/"
for d in $files; do
	documented glockfs.5 "^\.I $d$" "debugfs file $d"
done

# glockctl metrics: every series name ctl_metrics.c writes.
series=$(grep -ohE '"glockd_[a-z0-9_]+' "$srcdir/daemon/ctl_metrics.c" | tr -d '"' |
	sed -E 's/_(bucket|sum|count)$//' | sort -u)
[ -n "$series" ] || bad "no metric names found in daemon/ctl_metrics.c"
for m in $series; do
	documented glockctl.8 "^\\.B (\\\\%)?$m([{ ]|$)" "metric $m"
done

echo "$pass passed, $fail failed"
[ $fail -eq 0 ]
