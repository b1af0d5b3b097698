#!/usr/bin/env bats
# The manual pages in man/ render whole: an mdoc error (a macro left open)
# makes groff drop the rest of a page without a word to the reader.

bats_require_minimum_version 1.5.0

setup() {
	load helpers
	common_setup
}

@test "every page in man/ renders with no mdoc error or warning, and shows each of its sections" {
	local page
	for page in "$ROOT"/man/*.[1-8]; do
		# (a table too wide for 80 columns says "can't break line": not a fault of the source)
		run --separate-stderr groff -mandoc -Tutf8 -ww "$page"
		assert_success
		assert_equal "$(printf '%s\n' "$stderr" | grep -v "can't break line")" ""
		sed -n 's/^\.Sh //p' "$page" | tr -d '"' > sections
		[ -s sections ]
		while IFS= read -r sh; do
			grep -qxF "$sh" <<< "$(printf '%s\n' "$output" | sed 's/\x1b\[[0-9;]*m//g; s/.\x08//g')" ||
				fail "$(basename "$page"): section \"$sh\" is not in the rendered page"
		done < sections
	done
}
