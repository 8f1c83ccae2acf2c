// Package wording holds the small text helpers that the messages of several
// packages share, so that they read alike.
package wording

import "strconv"

// Plural returns "1 word" for n = 1 and "n words" otherwise, for the counts
// in messages (e.g. Plural(1, "column") is "1 column", Plural(3, "row") is
// "3 rows"). word must take a plain "s" in the plural.
func Plural(n int, word string) string {
	if n == 1 {
		return "1 " + word
	}
	return strconv.Itoa(n) + " " + word + "s"
}
