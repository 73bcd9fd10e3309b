package main

import (
	"strings"
	"testing"
)

func TestLookup(t *testing.T) {
	table := buildTable(1000)
	in := "0\n1\n 7 \r\n999\n1000\n\n-1\n+5\nabc\n0042\n99999999999999999999\n4294967295\n a b\r\r\n\xff\n2"
	want := "0 -> 0\n" +
		"1 -> 2654435761\n" +
		"7 -> 1401181143\n" + // 7 * 2654435761 = 18581050327; mod 2^32
		"999 -> 1786503607\n" +
		"1000 -> missing\n" +
		" -> invalid\n" +
		"-1 -> invalid\n" +
		"5 -> 387276917\n" +
		"abc -> invalid\n" +
		"42 -> 4112119562\n" +
		"99999999999999999999 -> invalid\n" +
		"4294967295 -> missing\n" +
		" a b -> invalid\n" +
		"\uFFFD -> invalid\n" +
		"2 -> 1013904226\n"
	var out strings.Builder
	if err := lookup(table, strings.NewReader(in), &out); err != nil {
		t.Fatal(err)
	}
	if out.String() != want {
		t.Errorf("got\n%s\nwant\n%s", out.String(), want)
	}
}

func TestTableSizeAndValues(t *testing.T) {
	table := buildTable(Entries)
	if len(table) != Entries {
		t.Fatalf("%d entries", len(table))
	}
	if table[Entries-1] != uint32((uint64(Entries-1)*2654435761)%(1<<32)) {
		t.Error("last entry wrong")
	}
	if _, ok := table[Entries]; ok {
		t.Error("key past the end present")
	}
}
