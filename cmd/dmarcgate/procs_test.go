package main

import "testing"

func TestCommitProcs(t *testing.T) {
	cases := []struct {
		env     string
		current int
		want    int
	}{
		{"", 1, 2},
		{"", 2, 3},
		{"", 16, 17},
		{"2", 2, 2}, // the operator's choice stands
		{"1", 1, 1},
	}
	for _, c := range cases {
		if got := commitProcs(c.env, c.current); got != c.want {
			t.Errorf("commitProcs(%q, %d) = %d, want %d", c.env, c.current, got, c.want)
		}
	}
}
