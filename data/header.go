package data

import (
	"fmt"
	"strings"
)

// HeaderMatchError is returned by HeaderIndex when a header does not name a
// column unambiguously: Name is the column looked up, First and Second the
// first two header columns that match it (0-based), and IgnoringCase tells
// whether they match only ignoring case (else both match exactly).
type HeaderMatchError struct {
	Name          string
	First, Second int
	IgnoringCase  bool
}

// Error formats e, e.g. `the header names the column "a" twice (columns 0
// and 1, counting from 0)` or `the header's columns 0 and 2 (counting from
// 0) both match the column "ab" ignoring case`.
func (e *HeaderMatchError) Error() string {
	if e.IgnoringCase {
		return fmt.Sprintf("the header's columns %d and %d (counting from 0) both match the column %q ignoring case", e.First, e.Second, e.Name)
	}
	return fmt.Sprintf("the header names the column %q twice (columns %d and %d, counting from 0)", e.Name, e.First, e.Second)
}

// HeaderIndex returns the index (0-based) of the column called name in a
// header row, with spaces around header names ignored: the one exact match,
// else the one match ignoring case (strings.EqualFold, so a header "Alcohol"
// finds the column "alcohol"), else −1 with a nil error. Two exact matches,
// or no exact match and two names equal to name only ignoring case, are a
// *HeaderMatchError naming the first two. The CLI (iterflow logprob) and the
// HTTP server (package serve) match a model's column names against a data
// header with it.
func HeaderIndex(header []string, name string) (int, error) {
	var exact, fold [2]int
	ne, nf := 0, 0
	for j, h := range header {
		h = strings.TrimSpace(h)
		switch {
		case h == name:
			if ne < 2 {
				exact[ne] = j
			}
			ne++
		case strings.EqualFold(h, name):
			if nf < 2 {
				fold[nf] = j
			}
			nf++
		}
	}
	switch {
	case ne == 1:
		return exact[0], nil
	case ne > 1:
		return -1, &HeaderMatchError{Name: name, First: exact[0], Second: exact[1]}
	case nf == 1:
		return fold[0], nil
	case nf > 1:
		return -1, &HeaderMatchError{Name: name, First: fold[0], Second: fold[1], IgnoringCase: true}
	}
	return -1, nil
}
