# Man pages, written in roff: installed by `make install`, shipped by
# `make dist`, checked by tests/man/check-man.sh (warnings, lexgrog, and
# that every config key, subcommand, option and module parameter is there).
dist_man_MANS = \
	man/glockd.8 \
	man/glockctl.8 \
	man/glockd.conf.5 \
	man/glockfs.5 \
	man/libglock.3

TESTS += tests/man/check-man.sh
EXTRA_DIST += tests/man/check-man.sh
