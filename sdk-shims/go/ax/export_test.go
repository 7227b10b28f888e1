package ax

import "testing"

// SetDialedHook makes every dial of the test run hook once it has connected, before the
// Hello is written.
func SetDialedHook(t testing.TB, hook func()) {
	testHookDialed = hook
	t.Cleanup(func() { testHookDialed = nil })
}
