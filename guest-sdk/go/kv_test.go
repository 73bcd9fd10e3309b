//go:build !wasip1

package faasrt

import (
	"errors"
	"testing"
)

func TestKvOutsideWasmIsUnavailable(t *testing.T) {
	if _, _, err := KvGet([]byte("k")); !errors.Is(err, ErrKvUnavailable) {
		t.Fatalf("KvGet: got %v, want ErrKvUnavailable", err)
	}
	if err := KvPut([]byte("k"), []byte("v")); !errors.Is(err, ErrKvUnavailable) {
		t.Fatalf("KvPut: got %v, want ErrKvUnavailable", err)
	}
	if err := KvDelete([]byte("k")); !errors.Is(err, ErrKvUnavailable) {
		t.Fatalf("KvDelete: got %v, want ErrKvUnavailable", err)
	}
}

func TestKvCodesMatchTheHostABI(t *testing.T) {
	for code, want := range map[int64]error{-2: ErrKvKeySize, -3: ErrKvValueTooLarge, -4: ErrKvQuota, -5: ErrKvUnavailable, -6: ErrKvStore} {
		if got := kvError(code); got != want {
			t.Errorf("code %d: got %v, want %v", code, got, want)
		}
	}
	if err := kvError(-9); err == nil {
		t.Error("an unknown code must still be an error")
	}
}
