package main

import (
	"strings"
	"testing"
)

func TestGreet(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"faasrt", "ignored"}, "Hello, faasrt!\n"},
		{nil, "Hello, world!\n"},
		{[]string{""}, "Hello, !\n"},
	} {
		var out strings.Builder
		if err := greet(tc.args, &out); err != nil {
			t.Fatal(err)
		}
		if out.String() != tc.want {
			t.Errorf("greet(%q) = %q, want %q", tc.args, out.String(), tc.want)
		}
	}
}
